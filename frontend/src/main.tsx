import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { createApi } from "./api";
import { ApiProvider } from "./ApiContext";
import { App } from "./App";
import { loadApiBase } from "./config";
import "./styles.css";

// The API's address comes from /config.json at run time; calls made before it is known wait for it.
const api = createApi(loadApiBase());

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
