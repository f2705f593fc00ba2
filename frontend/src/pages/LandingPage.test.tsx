import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { renderApp } from "../test/render";

describe("the landing page", () => {
  it("explains the pipeline with one diagram and leads to the demo", async () => {
    renderApp("/", vi.fn());
    expect(screen.getByRole("heading", { level: 1 })).toBeInTheDocument();
    const diagram = screen.getByRole("figure");
    expect(diagram).toHaveAccessibleName(/API → outbox → Kafka → bridge → Celery \(mailer and workflow\) → CRM/);
    for (const stage of ["API", "Outbox", "Kafka", "Bridge", "Celery", "Mailer", "Workflow", "CRM"]) {
      expect(diagram).toHaveTextContent(stage);
    }
    const cta = screen.getByRole("link", { name: "Try the live demo" });
    expect(cta).toHaveAttribute("href", "/demo");
    await userEvent.setup().click(cta);
    expect(await screen.findByRole("heading", { name: /send a message/i })).toHaveFocus();
  });

  it("has a page for unknown addresses", () => {
    renderApp("/nowhere", vi.fn());
    expect(screen.getByRole("heading", { name: /page not found/i })).toBeInTheDocument();
  });
});
