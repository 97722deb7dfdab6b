// Reads a SARIF log on standard input and validates it against the SARIF 2.1.0 JSON schema.
// Prints the errors and exits 1 when it does not validate.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const draft4 = require("ajv/lib/refs/json-schema-draft-04.json");
const schema = require("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");

const ajv = new Ajv({ schemaId: "id", allErrors: true, logger: false });
ajv.addMetaSchema(draft4);
const validate = ajv.compile(schema);
const log = JSON.parse(readFileSync(0, "utf8"));
if (!validate(log)) {
  console.error(JSON.stringify(validate.errors, null, 2));
  process.exit(1);
}
console.log("valid SARIF 2.1.0");
