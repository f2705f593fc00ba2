import { describe, expect, it } from "vitest";
import {
  charCount,
  isValidEmail,
  normalizeSubmission,
  trimField,
  validateCompany,
  validateDemoFailAt,
  validateEmail,
  validateMessage,
  validateName,
  validateSubmission,
} from "./validation";

describe("name", () => {
  it("accepts an ordinary name, with letters beyond ASCII", () => {
    expect(validateName("Ada Lovelace")).toBeUndefined();
    expect(validateName("Zoë Ñúñez-Łukasz")).toBeUndefined();
  });

  it("is required, after trimming", () => {
    expect(validateName("")).toMatch(/enter your name/i);
    expect(validateName("   \t ")).toMatch(/enter your name/i);
    expect(validateName("  Bo  ")).toBeUndefined();
  });

  it("allows at most 100 characters (after trimming)", () => {
    expect(validateName("a".repeat(100))).toBeUndefined();
    expect(validateName(`  ${"a".repeat(100)}  `)).toBeUndefined();
    expect(validateName("a".repeat(101))).toMatch(/at most 100 characters/);
  });

  it("counts characters, not UTF-16 units", () => {
    const emoji = "😀"; // two UTF-16 units, one character
    expect(emoji.length).toBe(2);
    expect(validateName(emoji.repeat(100))).toBeUndefined();
    expect(validateName(emoji.repeat(101))).toMatch(/at most 100/);
  });

  it("accepts every real name: ZWNJ, emoji ZWJ sequences, flag tags, directional marks", () => {
    expect(validateName("\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627")).toBeUndefined(); // Persian, ZWNJ
    expect(validateName("Ada \u{1f469}\u200d\u{1f4bb}")).toBeUndefined(); // woman technologist
    expect(validateName("Ewan \u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}")).toBeUndefined();
    expect(validateName("\u05e9\u05e8\u05d4 (Sarah)\u200f")).toBeUndefined(); // right-to-left mark
  });

  it("rejects bidirectional overrides and isolates with a message of their own", () => {
    expect(validateName("Ada\u202eexe.txt")).toMatch(/bidirectional/);
    expect(validateName("Ada\u2066x\u2069")).toMatch(/bidirectional/);
    expect(validateMessage("Pay \u202e0001\u202c now")).toMatch(/bidirectional/);
    expect(validateName("Ada\u2028Lovelace")).toMatch(/control characters/); // line separator
  });

  it("rejects control characters, line breaks and tabs included", () => {
    expect(validateName("Ada\u0000Lovelace")).toMatch(/control characters/);
    expect(validateName("Ada\nLovelace")).toMatch(/control characters/);
    expect(validateName("Ada\tLovelace")).toMatch(/control characters/);
    expect(validateName("Ada\u007fL")).toMatch(/control characters/);
    expect(validateName("Ada\u200bL")).toMatch(/control characters/); // zero-width space: a format character
  });
});

describe("email", () => {
  it("accepts valid addresses", () => {
    for (const email of [
      "ada@example.com",
      "first.last+tag@sub.example.co.uk",
      "o'brien@example.ie",
      "user@localhost",
      "user@[192.168.0.1]",
      "user@[2001:db8::1]",
      "jorg@bücher.example",
      "a@xn--bcher-kva.example",
    ]) {
      expect(validateEmail(email), email).toBeUndefined();
    }
  });

  it("is required", () => {
    expect(validateEmail("")).toMatch(/enter your email/i);
    expect(validateEmail("   ")).toMatch(/enter your email/i);
  });

  it("rejects invalid syntax", () => {
    for (const email of [
      "ada",
      "ada@",
      "@example.com",
      "ada@example",
      "ada@@example.com",
      "ada example@example.com",
      "ada@exa mple.com",
      ".ada@example.com",
      "ada.@example.com",
      "ada..b@example.com",
      "ada@-example.com",
      "ada@example.c",
      "ada@[300.1.1.1]",
      "ada@[1.2.3]",
      "jörg@example.com", // the server accepts only ASCII before the @
    ]) {
      expect(validateEmail(email), email).toMatch(/valid email/);
    }
  });

  it("trims surrounding spaces before checking", () => {
    expect(validateEmail("  ada@example.com ")).toBeUndefined();
  });

  it("allows at most 254 characters", () => {
    const domain = "@example.com"; // 12 characters
    const local = (n: number) => Array.from({ length: Math.ceil(n / 50) }, () => "a".repeat(49)).join(".").slice(0, n);
    const ok = `${local(242)}${domain}`;
    const tooLong = `${local(243)}${domain}`;
    expect(charCount(ok)).toBe(254);
    expect(isValidEmail(ok)).toBe(true);
    expect(validateEmail(ok)).toBeUndefined();
    expect(charCount(tooLong)).toBe(255);
    expect(validateEmail(tooLong)).toMatch(/at most 254/);
  });
});

describe("company", () => {
  it("is optional", () => {
    expect(validateCompany("")).toBeUndefined();
    expect(validateCompany("   ")).toBeUndefined();
    expect(validateCompany("Engines Ltd")).toBeUndefined();
  });

  it("allows at most 100 characters", () => {
    expect(validateCompany("c".repeat(100))).toBeUndefined();
    expect(validateCompany("c".repeat(101))).toMatch(/at most 100/);
  });

  it("rejects control characters", () => {
    expect(validateCompany("Acme\u0007")).toMatch(/control characters/);
    expect(validateCompany("Acme\r\nInc")).toMatch(/control characters/);
  });
});

describe("message", () => {
  it("is required, after trimming", () => {
    expect(validateMessage("")).toMatch(/write a message/i);
    expect(validateMessage("\n\n  \t")).toMatch(/write a message/i);
    expect(validateMessage("Hi")).toBeUndefined();
  });

  it("allows at most 5000 characters", () => {
    expect(validateMessage("m".repeat(5000))).toBeUndefined();
    expect(validateMessage("m".repeat(5001))).toMatch(/at most 5000/);
  });

  it("allows newline, tab and carriage return", () => {
    expect(validateMessage("Line one\r\nLine two\n\tindented")).toBeUndefined();
  });

  it("rejects other control and format characters", () => {
    expect(validateMessage("Hello\u0000")).toMatch(/control characters/);
    expect(validateMessage("Bell\u0007 rings")).toMatch(/control characters/);
    expect(validateMessage("Escape \u001b[31m red")).toMatch(/control characters/);
    expect(validateMessage("Form\u000cfeed")).toMatch(/control characters/);
    expect(validateMessage("right-to-left \u202e override")).toMatch(/bidirectional/);
  });
});

describe("demo_fail_at", () => {
  it("accepts none and the three workflow steps", () => {
    for (const value of ["", "tag_lead", "assign_owner", "create_crm_lead"]) {
      expect(validateDemoFailAt(value), value).toBeUndefined();
    }
  });

  it("rejects anything else", () => {
    expect(validateDemoFailAt("send_email")).toBeDefined();
  });
});

describe("the whole submission", () => {
  it("reports each field's problem", () => {
    const errors = validateSubmission({ name: " ", email: "nope", company: "ok", message: "", demo_fail_at: "", website: "" });
    expect(Object.keys(errors).sort()).toEqual(["email", "message", "name"]);
  });

  it("has no errors for a valid submission", () => {
    expect(
      validateSubmission({
        name: "Ada",
        email: "ada@example.com",
        company: "",
        message: "Hello",
        demo_fail_at: "assign_owner",
        website: "",
      }),
    ).toEqual({});
  });

  it("trims text the way the server does, and sends the honeypot untouched for the server to judge", () => {
    expect(trimField("\u3000 Ada \u00a0")).toBe("Ada");
    expect(
      normalizeSubmission({
        name: " Ada ",
        email: " a@b.co ",
        company: " X ",
        message: "\n hi \n",
        demo_fail_at: "",
        website: " x ",
      }),
    ).toEqual({ name: "Ada", email: "a@b.co", company: "X", message: "hi", demo_fail_at: "", website: " x " });
  });
});
