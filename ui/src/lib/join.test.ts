import { describe, expect, it } from "vitest";
import { joinErrorText, joinStage } from "./join";

describe("joinStage", () => {
  it("is indeterminate until the total is known", () => {
    expect(joinStage(null)).toMatchObject({ total: 0 });
    expect(joinStage({ received: 0, total: 0 }).text).toMatch(/Connecting/);
  });

  it("counts the files received", () => {
    expect(joinStage({ received: 3, total: 12 })).toEqual({ received: 3, total: 12, text: "Receiving files: 3 of 12 (25%)" });
    expect(joinStage({ received: 20, total: 12 }).received).toBe(12);
  });
});

describe("joinErrorText", () => {
  it("says what to do about a bad or expired code", () => {
    expect(joinErrorText({ code: "join_failed", message: "invalid invite code: bad base64" })).toMatch(
      /^That invite code is not valid .* ask for a new one\.$/,
    );
    expect(joinErrorText({ code: "join_failed", message: "invite code expired; ask for a new one" })).toBe(
      "That invite code has expired. Ask your teammate for a new one.",
    );
  });

  it("passes other failures on in words", () => {
    expect(joinErrorText({ code: "join_failed", message: "no answer from the inviter" })).toBe("Could not join: no answer from the inviter");
    expect(joinErrorText({ code: "refused", message: "/x is not empty; join into a new or empty folder" })).toBe(
      "/x is not empty; join into a new or empty folder",
    );
    expect(joinErrorText(new Error("boom"))).toBe("Could not join: boom");
  });
});
