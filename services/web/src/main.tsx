import { render } from "preact";
import { App } from "./app";
import { completeSignIn } from "./auth";
import { loadConfig } from "./config";
import { lang } from "./i18n";
import { startOutbox } from "./queue";
import { syncRoute } from "./route";
import "./style.css";

async function start(): Promise<void> {
  document.documentElement.lang = lang.get() === "zh" ? "zh-CN" : "en";
  await loadConfig();
  try {
    await completeSignIn();
    syncRoute();
  } catch (error) {
    console.error(error);
  }
  render(<App />, document.getElementById("app")!);
  startOutbox();
  if ("serviceWorker" in navigator) void navigator.serviceWorker.register("/sw.js");
}

void start();
