import { Link } from "react-router-dom";
import { useDocumentTitle } from "../useDocumentTitle";

interface Stage {
  name: string;
  role: string;
}

const STAGES: Stage[] = [
  { name: "API", role: "Checks the form and stores it, with its event, in one transaction" },
  { name: "Outbox", role: "A relay publishes stored events, so none is lost if Kafka is down" },
  { name: "Kafka", role: "Keeps the event log, in order, for every consumer" },
  { name: "Bridge", role: "Reads Kafka and hands each event to Celery" },
];

function Arrow() {
  return <span className="flow__arrow" aria-hidden="true" />;
}

/** The path of a submission, as boxes and arrows that also read well as a list. */
function PipelineDiagram() {
  return (
    <figure className="flow" aria-labelledby="flow-caption">
      <ol className="flow__list">
        {STAGES.map((stage) => (
          <li key={stage.name} className="flow__item">
            <div className="flow__box">
              <strong className="flow__name">{stage.name}</strong>
              <span className="flow__role">{stage.role}</span>
            </div>
            <Arrow />
          </li>
        ))}
        <li className="flow__item flow__item--last">
          <div className="flow__box flow__box--group">
            <strong className="flow__name">Celery</strong>
            <span className="flow__role">Runs two jobs side by side:</span>
            <ul className="flow__branches">
              <li className="flow__branch">
                <div className="flow__box flow__box--inner">
                  <strong className="flow__name">Mailer</strong>
                  <span className="flow__role">Sends the confirmation email</span>
                </div>
              </li>
              <li className="flow__branch">
                <div className="flow__box flow__box--inner">
                  <strong className="flow__name">Workflow</strong>
                  <span className="flow__role">Tags the lead, assigns an owner…</span>
                </div>
                <Arrow />
                <span className="visually-hidden">then sends the lead to</span>
                <div className="flow__box flow__box--inner flow__box--crm">
                  <strong className="flow__name">CRM</strong>
                  <span className="flow__role">…and creates the lead there</span>
                </div>
              </li>
            </ul>
          </div>
        </li>
      </ol>
      <figcaption id="flow-caption">
        A submission's path: API → outbox → Kafka → bridge → Celery (mailer and workflow) → CRM.
      </figcaption>
    </figure>
  );
}

export function LandingPage() {
  useDocumentTitle("How it works");
  return (
    <>
      <section className="hero">
        <h1>Follow a contact form submission, live</h1>
        <p className="lead">
          When you send the form, the API stores your message together with an event in its outbox. A relay
          publishes the event to Kafka, a bridge hands it to Celery, and two jobs run at once: the mailer sends a
          confirmation email, and the lead workflow tags the lead, assigns an owner and creates it in the CRM.
        </p>
        <p>
          If a workflow step fails for good, the steps that already ran are undone in reverse order
          (compensation), so the CRM never keeps half a lead. The progress page shows every step as it happens,
          with its time and the delay since the step before.
        </p>
        <p>
          <Link to="/demo" className="button button--primary button--large">
            Try the live demo
          </Link>
        </p>
      </section>
      <section className="card" aria-labelledby="flow-heading">
        <h2 id="flow-heading">The path of a submission</h2>
        <PipelineDiagram />
      </section>
    </>
  );
}
