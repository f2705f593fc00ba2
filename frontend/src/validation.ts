/**
 * The rules a submission obeys: the same ones the API applies (its serializer and validators),
 * checked here first so that a person sees mistakes before anything is sent.
 *
 * The server stays the authority: whatever it answers with a 400 is shown at the fields too.
 */

export const FIELD_NAMES = ["name", "email", "company", "message", "demo_fail_at"] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

export const LIMITS = {
  name: 100,
  email: 254,
  company: 100,
  message: 5000,
} as const;

import { WORKFLOW_STEPS, type WorkflowStep } from "./saga.generated";

export { WORKFLOW_STEPS, type WorkflowStep };
export type DemoFailAt = "" | WorkflowStep;

export interface SubmissionInput {
  name: string;
  email: string;
  company: string;
  message: string;
  demo_fail_at: DemoFailAt;
  /** The honeypot: a field people never see, so it stays empty; the API refuses a filled one. */
  website: string;
}

export type FieldErrors = Partial<Record<FieldName, string>>;

// Python's str.strip() (which the API uses to trim text fields) removes exactly these characters.
const PY_WHITESPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM_RE = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, "g");

/** Trims the way the server does before it checks a field. */
export function trimField(value: string): string {
  return value.replace(TRIM_RE, "");
}

/** Length in characters (code points), as the server counts it; not UTF-16 units. */
export function charCount(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

// The server's rules (backend/intake/validators.py): no control characters (Cc), no line or
// paragraph separators, and no format characters (Cf) except those real text needs: the zero-width
// non-joiner and joiner (Persian names, emoji sequences), the directional marks of mixed scripts, the
// soft hyphen and the tag characters of subdivision flags. Bidirectional embeddings, overrides and
// isolates are refused with their own message: they make text display in another order than it is.
const CONTROL_RE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const TEXT_FORMAT = new Set(["\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u00ad"]);
const BIDI_CONTROL_RE = /[\u202a-\u202e\u2066-\u2069]/u;
const LONE_SURROGATE_RE = /\p{Cs}/u;

function isRefusedControl(char: string): boolean {
  if (!CONTROL_RE.test(char) || TEXT_FORMAT.has(char)) return false;
  const code = char.codePointAt(0) ?? 0;
  return !(code >= 0xe0020 && code <= 0xe007f); // emoji tag characters
}

/** True when the text holds a bidirectional embedding, override or isolate. */
export function hasBidiControls(value: string): boolean {
  return BIDI_CONTROL_RE.test(value);
}

/** True when the text holds a control or format character (single-line fields: none allowed). */
export function hasControlCharacters(value: string): boolean {
  for (const char of value) if (isRefusedControl(char)) return true;
  return false;
}

/** True when the text holds a control or format character other than newline, tab and CR. */
export function hasControlCharactersMultiline(value: string): boolean {
  for (const char of value) {
    if (char === "\n" || char === "\r" || char === "\t") continue;
    if (isRefusedControl(char)) return true;
  }
  return false;
}

// --- email: the syntax Django's EmailValidator accepts --------------------------------------------
const USER_DOT_ATOM_RE = /^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*$/i;
const USER_QUOTED_RE = /^"(?:[\x01-\x08\x0b\x0c\x0e-\x1f!#-[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*"$/i;
const UL = "\\u00a1-\\uffff"; // letters beyond ASCII, as in Django's hostname pattern
const HOSTNAME = `[a-z${UL}0-9](?:[a-z${UL}0-9-]{0,61}[a-z${UL}0-9])?`;
const DOMAIN = `(?:\\.(?!-)[a-z${UL}0-9-]{1,63}(?<!-))*`;
const TLD = `\\.(?!-)(?:[a-z${UL}-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)`;
const DOMAIN_RE = new RegExp(`^${HOSTNAME}${DOMAIN}${TLD}$`, "iu");
const LITERAL_RE = /^\[([A-F0-9:.]+)\]$/i;
const DOMAIN_ALLOWLIST = ["localhost"];

function isIPv4(value: string): boolean {
  const parts = value.split(".");
  return (
    parts.length === 4 &&
    parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255)
  );
}

function isIPv6(value: string): boolean {
  if (!value.includes(":") || value.length > 39) return false;
  const [head, tail, ...more] = value.split("::");
  if (more.length > 0) return false;
  const groups = (text: string | undefined): string[] | null => {
    if (text === undefined || text === "") return [];
    const pieces = text.split(":");
    const out: string[] = [];
    for (let i = 0; i < pieces.length; i += 1) {
      const piece = pieces[i] ?? "";
      if (i === pieces.length - 1 && piece.includes(".")) {
        if (!isIPv4(piece)) return null;
        out.push("v4a", "v4b"); // an embedded IPv4 address takes two groups
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(piece);
      } else {
        return null;
      }
    }
    return out;
  };
  const left = groups(head);
  if (left === null) return false;
  if (tail === undefined) return left.length === 8; // no "::"
  const right = groups(tail);
  if (right === null) return false;
  if (left.some((g) => g.startsWith("v4"))) return false; // IPv4 only at the very end
  return left.length + right.length <= 7;
}

/** Email syntax as the server checks it (Django's EmailValidator rules). */
export function isValidEmail(value: string): boolean {
  if (!value || !value.includes("@") || charCount(value) > 320) return false;
  const at = value.lastIndexOf("@");
  const user = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (!USER_DOT_ATOM_RE.test(user) && !USER_QUOTED_RE.test(user)) return false;
  if (DOMAIN_ALLOWLIST.includes(domain)) return true;
  if (DOMAIN_RE.test(domain)) return true;
  const literal = LITERAL_RE.exec(domain);
  if (literal?.[1]) return isIPv4(literal[1]) || isIPv6(literal[1]);
  return false;
}

// --- the rules, field by field --------------------------------------------------------------------
const MESSAGES = {
  nameRequired: "Please enter your name.",
  emailRequired: "Please enter your email address.",
  emailInvalid: "Enter a valid email address.",
  messageRequired: "Please write a message.",
  control: "Must not contain control characters.",
  bidi: "Must not contain bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069).",
  surrogate: "Contains an invalid character.",
  tooLong: (limit: number) => `Must be at most ${limit} characters.`,
  demo: "Choose one of the listed steps.",
};

function checkText(
  raw: string,
  opts: { required: boolean; limit: number; multiline: boolean; requiredMessage: string },
): string | undefined {
  const value = trimField(raw);
  if (value === "") return opts.required ? opts.requiredMessage : undefined;
  if (LONE_SURROGATE_RE.test(value)) return MESSAGES.surrogate;
  if (hasBidiControls(value)) return MESSAGES.bidi;
  if (opts.multiline ? hasControlCharactersMultiline(value) : hasControlCharacters(value)) {
    return MESSAGES.control;
  }
  const count = charCount(value);
  if (count > opts.limit) return `${MESSAGES.tooLong(opts.limit)} (now ${count})`;
  return undefined;
}

export function validateName(raw: string): string | undefined {
  return checkText(raw, {
    required: true,
    limit: LIMITS.name,
    multiline: false,
    requiredMessage: MESSAGES.nameRequired,
  });
}

export function validateCompany(raw: string): string | undefined {
  return checkText(raw, { required: false, limit: LIMITS.company, multiline: false, requiredMessage: "" });
}

export function validateMessage(raw: string): string | undefined {
  return checkText(raw, {
    required: true,
    limit: LIMITS.message,
    multiline: true,
    requiredMessage: MESSAGES.messageRequired,
  });
}

export function validateEmail(raw: string): string | undefined {
  const value = trimField(raw);
  if (value === "") return MESSAGES.emailRequired;
  const count = charCount(value);
  if (count > LIMITS.email) return `${MESSAGES.tooLong(LIMITS.email)} (now ${count})`;
  if (!isValidEmail(value)) return MESSAGES.emailInvalid;
  return undefined;
}

export function validateDemoFailAt(value: string): string | undefined {
  return value === "" || (WORKFLOW_STEPS as readonly string[]).includes(value) ? undefined : MESSAGES.demo;
}

const VALIDATORS: Record<FieldName, (value: string) => string | undefined> = {
  name: validateName,
  email: validateEmail,
  company: validateCompany,
  message: validateMessage,
  demo_fail_at: validateDemoFailAt,
};

export function validateField(field: FieldName, value: string): string | undefined {
  return VALIDATORS[field](value);
}

/** Every field's first problem; an empty object when the input is fine. */
export function validateSubmission(input: SubmissionInput): FieldErrors {
  const errors: FieldErrors = {};
  for (const field of FIELD_NAMES) {
    const error = validateField(field, input[field]);
    if (error) errors[field] = error;
  }
  return errors;
}

/** The body to send: text trimmed the way the server would trim it anyway. */
export function normalizeSubmission(input: SubmissionInput): SubmissionInput {
  return {
    name: trimField(input.name),
    email: trimField(input.email),
    company: trimField(input.company),
    message: trimField(input.message),
    demo_fail_at: input.demo_fail_at,
    // Sent exactly as it is: the API judges it untrimmed.
    website: input.website,
  };
}
