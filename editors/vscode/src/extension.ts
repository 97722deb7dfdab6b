import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let watcher: vscode.FileSystemWatcher;
let queue: Promise<void> = Promise.resolve();

export function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Cadence");
  watcher = vscode.workspace.createFileSystemWatcher("**/*.cadence");
  context.subscriptions.push(
    output,
    watcher,
    vscode.commands.registerCommand("cadence.restartServer", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("cadence.server.path")) {
        void restart();
      }
    }),
  );
  return enqueue(start);
}

export function deactivate(): Promise<void> {
  return enqueue(stop);
}

/** Stops the server (if it runs) and starts it again with the current settings. */
function restart(): Promise<void> {
  return enqueue(async () => {
    await stop();
    await start();
  });
}

/** Runs starts and stops one after the other, never two at once. */
function enqueue(task: () => Promise<void>): Promise<void> {
  queue = queue.then(task, task);
  return queue;
}

async function start(): Promise<void> {
  const configured = vscode.workspace.getConfiguration("cadence").get<string>("server.path", "cadence");
  const command = resolveCommand(configured.trim() || "cadence");
  if (command === undefined) {
    showStartError(configured);
    return;
  }
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp"],
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "cadence" },
      { scheme: "untitled", language: "cadence" },
    ],
    synchronize: { fileEvents: watcher },
    outputChannel: output,
  };
  const next = new LanguageClient("cadence", "Cadence", serverOptions, clientOptions);
  try {
    await next.start();
    client = next;
  } catch (error) {
    output.appendLine(`cannot start \`${command} lsp\`: ${String(error)}`);
    showStartError(configured);
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch (error) {
      output.appendLine(`stopping the language server: ${String(error)}`);
    }
  }
}

function showStartError(configured: string): void {
  const message =
    configured === "cadence"
      ? "cannot start `cadence lsp`: is `cadence` on your PATH? Set cadence.server.path."
      : `cannot start \`${configured} lsp\`: check cadence.server.path.`;
  const settings = "Open Settings";
  void vscode.window.showErrorMessage(`Cadence: ${message}`, settings).then((choice) => {
    if (choice === settings) {
      void vscode.commands.executeCommand("workbench.action.openSettings", "cadence.server.path");
    }
  });
}

/**
 * The executable to run for `configured`: a path (absolute, `~/...`, or relative to the first
 * workspace folder) that exists, or a bare name found on the PATH. Undefined when there is none.
 */
function resolveCommand(configured: string): string | undefined {
  let candidate = configured;
  if (candidate === "~" || candidate.startsWith("~/")) {
    candidate = path.join(process.env.HOME ?? process.env.USERPROFILE ?? "", candidate.slice(1));
  }
  if (path.isAbsolute(candidate) || candidate.includes("/") || candidate.includes(path.sep)) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const full = path.isAbsolute(candidate) || folder === undefined ? candidate : path.join(folder, candidate);
    return withExtensions(full).find(isFile);
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") {
      continue;
    }
    const found = withExtensions(path.join(dir, candidate)).find(isFile);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

/** `file` and, on Windows, `file` with each extension of PATHEXT. */
function withExtensions(file: string): string[] {
  if (process.platform !== "win32") {
    return [file];
  }
  const extensions = (process.env.PATHEXT ?? ".COM;.EXE;.BAT;.CMD").split(";").filter((ext) => ext !== "");
  return [file, ...extensions.map((ext) => file + ext)];
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
