import { Link } from "react-router-dom";
import { useDocumentTitle } from "../useDocumentTitle";

export function NotFoundPage() {
  useDocumentTitle("Page not found");
  return (
    <section className="card narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link to="/">Go to the start page</Link> or <Link to="/demo">try the live demo</Link>.
      </p>
    </section>
  );
}
