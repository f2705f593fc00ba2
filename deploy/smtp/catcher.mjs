// The SMTP catcher: maildev, with its web UI and API closed to other web pages.
//
// maildev's API answers every Origin with Access-Control-Allow-Origin set to that origin and
// Access-Control-Allow-Credentials: true, so any page a developer opens could read the caught mail
// with their browser's stored credentials. Its command line has no switch for that; the API server
// reads `options.cors` when it registers its plugins, and this sets it to "no cross-origin access"
// there. The UI is served from the same origin and needs none. Arguments are maildev's own.
import { APIServer } from "@maildev/api";

const registerPlugins = APIServer.prototype.registerPlugins;
APIServer.prototype.registerPlugins = function registerWithoutCors(...args) {
  this.options.cors = { origin: false, credentials: false };
  return registerPlugins.apply(this, args);
};

await import("./node_modules/maildev/dist/bin/maildev.js");
