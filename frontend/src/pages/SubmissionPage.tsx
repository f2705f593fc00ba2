import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useParams } from "react-router-dom";
import { accessTokenFor, rememberToken, tokenFromFragment } from "../access";
import { useApi } from "../ApiContext";
import { watchSubmission, type Connection } from "../watch";
import {
  announceStep,
  deriveProgress,
  formatClock,
  formatDelay,
  type ProgressStep,
  type StepState,
} from "../progress";
import type { SubmissionState } from "../types";
import { useDocumentTitle } from "../useDocumentTitle";

interface Watch {
  state: SubmissionState | null;
  notFound: boolean;
  /** Why the submission cannot be read: 401 no token, 403 a wrong or expired one. */
  noAccess: 401 | 403 | null;
  connection: Connection;
  problem: string | null;
}

const INITIAL: Watch = { state: null, notFound: false, noAccess: null, connection: "connecting", problem: null };

/** The page's access token: from the URL fragment (kept for this tab), else the one this tab kept. */
function useAccessToken(id: string): string {
  const { hash } = useLocation();
  // An in-page link (the skip link's "#main") replaces the fragment; without storage that would lose
  // the token, so the one already known for this submission stays.
  const known = useRef<{ id: string; token: string }>({ id: "", token: "" });
  const token = useMemo(() => {
    const found = accessTokenFor(id, hash) || (known.current.id === id ? known.current.token : "");
    known.current = { id, token: found };
    return found;
  }, [id, hash]);
  useEffect(() => {
    // Opened from the private link in a new tab: later links in this tab need no fragment.
    if (tokenFromFragment(hash)) rememberToken(id, tokenFromFragment(hash));
  }, [id, hash]);
  return token;
}

function useSubmissionWatch(id: string, token: string): Watch {
  const api = useApi();
  const [watch, setWatch] = useState<Watch>(INITIAL);

  useEffect(() => {
    setWatch(INITIAL);
    return watchSubmission(api, id, token, {
      onState: (state) => setWatch((w) => ({ ...w, state })),
      onNotFound: () => setWatch((w) => ({ ...w, notFound: true })),
      onNoAccess: (status) => setWatch((w) => ({ ...w, noAccess: status })),
      onConnection: (connection) => setWatch((w) => ({ ...w, connection })),
      onProblem: (problem) => setWatch((w) => (w.problem === problem ? w : { ...w, problem })),
    });
  }, [api, id, token]);

  return watch;
}

const STATE_TEXT: Record<StepState, string> = {
  done: "done",
  pending: "pending",
  skipped: "not reached",
  failed: "failed",
};

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "Connecting…",
  live: "Live: updates arrive as they happen",
  polling: "Live: checking every second",
  final: "Final: no more updates",
};

function StepIcon({ state }: { state: StepState }) {
  const glyph = state === "done" ? "✓" : state === "failed" ? "✕" : state === "skipped" ? "–" : "";
  return (
    <span className={`step__icon step__icon--${state}`} aria-hidden="true">
      {glyph}
    </span>
  );
}

function StepItem({ step }: { step: ProgressStep }) {
  return (
    <li className={`step step--${step.state}`} data-testid={step.testId} data-state={step.state}>
      <StepIcon state={step.state} />
      <div className="step__body">
        <div className="step__head">
          <span className="step__label">{step.label}</span>
          <span className={`step__state step__state--${step.state}`}>{STATE_TEXT[step.state]}</span>
        </div>
        {step.at !== null || step.delayMs !== null ? (
          <div className="step__timing">
            {step.at !== null && step.time ? (
              <time className="step__time" dateTime={step.time}>
                {formatClock(step.at)}
              </time>
            ) : null}
            {step.delayMs !== null ? (
              <span className="step__delay" title={step.delayFrom ? `since “${step.delayFrom}”` : undefined}>
                {formatDelay(step.delayMs)}
                {step.delayFrom ? <span className="visually-hidden"> after {step.delayFrom}</span> : null}
              </span>
            ) : null}
          </div>
        ) : null}
        {step.detail ? <p className="step__detail">{step.detail}</p> : null}
      </div>
    </li>
  );
}

/** Text for the live region: what has just happened since the previous state. */
function useAnnouncement(steps: ProgressStep[] | null, summary: string | null, final: boolean): string {
  const seen = useRef<{ states: Map<string, StepState>; final: boolean } | null>(null);
  const [message, setMessage] = useState("");

  useEffect(() => {
    if (!steps || !summary) return;
    const previous = seen.current;
    seen.current = { states: new Map(steps.map((step) => [step.key, step.state] as const)), final };
    if (previous === null) {
      const done = steps.filter((step) => step.state === "done").length;
      setMessage(`${summary}. ${done} of ${steps.length} steps done.`);
      return;
    }
    const parts = steps
      .filter((step) => (step.state === "done" || step.state === "failed") && previous.states.get(step.key) !== step.state)
      .map(announceStep);
    if (final && !previous.final) parts.push(`${summary}.`);
    if (parts.length) setMessage(parts.join(" "));
  }, [steps, summary, final]);

  return message;
}

function NewMessageLink() {
  return (
    <p>
      <Link to="/demo" className="button button--primary">
        Send a new message
      </Link>
    </p>
  );
}

function NotFound({ id }: { id: string }) {
  return (
    <section className="card narrow">
      <h1>No such submission</h1>
      <p>
        There is no submission with the reference <code className="reference">{id}</code>. Check the link, or send
        a new message.
      </p>
      <NewMessageLink />
    </section>
  );
}

/** No token, or one the server refused: say what opens this page instead of retrying. */
function NoAccess({ id, status }: { id: string; status: 401 | 403 }) {
  return (
    <section className="card narrow" data-testid="no-access">
      <h1>Private link needed</h1>
      <p>
        {status === 403 ? "This link does not open this submission, or it has expired. " : null}
        This page needs the private link you got when you sent the form; links expire after a while.
      </p>
      <p className="muted">
        Reference <code className="reference">{id}</code>
      </p>
      <NewMessageLink />
    </section>
  );
}

const TITLE = { notFound: "No such submission", noAccess: "Private link needed", progress: "Submission progress" };

export function SubmissionPage() {
  const { id = "" } = useParams();
  const token = useAccessToken(id);
  const watch = useSubmissionWatch(id, token);
  const progress = useMemo(() => (watch.state ? deriveProgress(watch.state) : null), [watch.state]);
  const announcement = useAnnouncement(progress?.steps ?? null, progress?.summary ?? null, progress?.final ?? false);
  const noAccess = token ? watch.noAccess : 401;
  useDocumentTitle(watch.notFound ? TITLE.notFound : noAccess ? TITLE.noAccess : TITLE.progress);

  if (watch.notFound) return <NotFound id={id} />;
  if (noAccess) return <NoAccess id={id} status={noAccess} />;

  const state = watch.state;
  return (
    <div className="progress">
      <header className="page-header">
        <h1>Submission progress</h1>
        {state ? (
          <dl className="facts">
            <div>
              <dt>From</dt>
              <dd>
                {state.name}
                {state.company ? <span className="muted"> · {state.company}</span> : null}
              </dd>
            </div>
            <div>
              <dt>Reference</dt>
              <dd>
                <code className="reference">{state.id}</code>
              </dd>
            </div>
            {state.demo_fail_at ? (
              <div>
                <dt>Demo</dt>
                <dd>workflow set to fail at {state.demo_fail_at}</dd>
              </div>
            ) : null}
          </dl>
        ) : (
          <p className="muted">
            Reference <code className="reference">{id}</code>
          </p>
        )}
      </header>

      <section className="card" aria-labelledby="steps-heading">
        <div className="progress__top">
          <h2 id="steps-heading">Steps</h2>
          {progress ? (
            progress.final ? (
              <p className={`badge badge--${progress.outcome ?? "neutral"}`} data-testid="final-status">
                {progress.summary}
              </p>
            ) : (
              <p className="badge badge--running" data-testid="live-status">
                <span className="spinner" aria-hidden="true" />
                {progress.summary}
              </p>
            )
          ) : null}
        </div>

        <p className="connection" data-testid="connection">
          {CONNECTION_TEXT[watch.connection]}
        </p>
        {watch.problem ? (
          <p className="problem" role="status">
            {watch.problem} Trying again every second…
          </p>
        ) : null}

        {progress ? (
          <ol className="steps">
            {progress.steps.map((step) => (
              <StepItem key={step.key} step={step} />
            ))}
          </ol>
        ) : (
          <p className="muted">Loading the submission…</p>
        )}

        <div className="visually-hidden" aria-live="polite" data-testid="announcer">
          {announcement}
        </div>
      </section>

      <p className="progress__again">
        <Link to="/demo">Send another message</Link>
      </p>
    </div>
  );
}
