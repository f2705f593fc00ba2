// The SMTP catcher: maildev, with its web UI and API closed to other web pages.
//
// maildev's API answers every Origin with Access-Control-Allow-Origin set to that origin and
// Access-Control-Allow-Credentials: true, so any page a developer opens could read the caught mail
// with their browser's stored credentials. Its command line has no switch for that; the API server
// reads `options.cors` when it registers its plugins, and this sets it to "no cross-origin access"
// there. The UI is served from the same origin and needs none. Arguments are maildev's own.
//
// Two more changes keep a visitor's data from outliving its use here: the log names no address
// (maildev prints "sender -> recipient" for every message), and caught mail is deleted once older
// than SMTP_CATCHER_RETENTION_HOURS (default 24; 0 keeps it), through maildev's own REST API.
import { APIServer } from "@maildev/api";
import { Logger } from "./node_modules/maildev/dist/utils/logger.js";

Logger.prototype.email = function emailWithoutAddresses(_from, to, subject) {
  const count = Array.isArray(to) ? to.length : String(to).split(",").length;
  this.info(`Received a message for ${count} recipient(s): ${subject}`);
};

const registerPlugins = APIServer.prototype.registerPlugins;
APIServer.prototype.registerPlugins = function registerWithoutCors(...args) {
  this.options.cors = { origin: false, credentials: false };
  return registerPlugins.apply(this, args);
};

await import("./node_modules/maildev/dist/bin/maildev.js");

// Retention: every ten minutes (and once soon after start), delete what is older than the limit.
const retentionHours = Number(process.env.SMTP_CATCHER_RETENTION_HOURS ?? "24");
const argument = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
};
const api = `http://${argument("--web-ip", "127.0.0.1")}:${argument("--web", "1080")}`;
// The API asks for the UI's password when maildev has one (MAILDEV_WEB_USER / MAILDEV_WEB_PASS).
const user = process.env.MAILDEV_WEB_USER ?? "";
const auth = user
  ? { Authorization: `Basic ${Buffer.from(`${user}:${process.env.MAILDEV_WEB_PASS ?? ""}`).toString("base64")}` }
  : {};

async function forgetOldMail() {
  const cutoff = Date.now() - retentionHours * 3600 * 1000;
  try {
    const emails = await (await fetch(`${api}/api/email`, { headers: auth })).json();
    const old = emails.filter((email) => new Date(email.time).getTime() < cutoff);
    for (const email of old) {
      await fetch(`${api}/api/email/${encodeURIComponent(email.id)}`, { method: "DELETE", headers: auth });
    }
    if (old.length) console.log(`Retention: deleted ${old.length} message(s) older than ${retentionHours} h`);
  } catch (error) {
    console.error(`Retention: could not read or delete caught mail (${error.message})`);
  }
}

if (retentionHours > 0) {
  const every = Number(process.env.SMTP_CATCHER_RETENTION_CHECK_SECONDS ?? "600") * 1000;
  setTimeout(forgetOldMail, Math.min(every, 30_000)).unref();
  setInterval(forgetOldMail, every).unref();
}
