import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { createApi } from "./api";
import { ApiProvider } from "./ApiContext";
import { App } from "./App";
import { loadConfig } from "./config";
import "./styles.css";

// The API's and the live stream's addresses come from /config.json at run time; calls made before
// they are known wait for them.
const api = createApi(loadConfig());

const root = document.getElementById("root");
if (!root) throw new Error("#root is missing from index.html");

createRoot(root).render(
  <StrictMode>
    <ApiProvider api={api}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </ApiProvider>
  </StrictMode>,
);
