import { render } from "preact";
import { App } from "./app";
import { completeSignIn } from "./auth";
import { loadConfig } from "./config";
import { lang } from "./i18n";
import { startOutbox } from "./queue";
import { syncRoute } from "./route";
import "./style.css";

// The app renders at once (over the shell index.html painted) and reads its settings
// meanwhile; only a sign-in coming back from the provider needs them before it can finish.
async function start(): Promise<void> {
  document.documentElement.lang = lang.get() === "zh" ? "zh-CN" : "en";
  const root = document.getElementById("app")!;
  root.textContent = "";
  render(<App />, root);
  if ("serviceWorker" in navigator) void navigator.serviceWorker.register("/sw.js");
  await loadConfig();
  try {
    await completeSignIn();
    syncRoute();
  } catch (error) {
    console.error(error);
  }
  startOutbox();
}

void start();
