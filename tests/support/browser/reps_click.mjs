// Opens the reps' queue in headless Chromium through a rep's sign-in link, clicks "answered"
// on a contact's call, and waits until the queue shows the call done.
//
//   node reps_click.mjs SIGN_IN_URL CONTACT
//
// Prints one JSON line: {"done": true|false, "escaped": true|false, "text": "..."}.
import { chromium } from "playwright-core";

const [signIn, contact] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
let result = { done: false, escaped: false, text: "" };
try {
  const page = await browser.newPage();
  await page.goto(signIn);
  const row = () => page.locator("tr", { hasText: contact }).first();
  await row().getByRole("button", { name: "answered" }).click();
  await page.waitForLoadState();
  for (let i = 0; i < 50 && !result.done; i++) {
    result.text = await row().innerText();
    result.done = result.text.includes("done: answered");
    if (!result.done) {
      await page.waitForTimeout(200);
      await page.reload();
    }
  }
  await page.goto(new URL(`/reps/contacts/${contact}`, signIn).toString());
  // A field holding markup is shown as text: no element was made of it.
  result.escaped =
    (await page.locator("td", { hasText: "<script>" }).count()) > 0 &&
    (await page.locator("script").count()) === 0;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
