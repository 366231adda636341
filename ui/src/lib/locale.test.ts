import { describe, expect, it } from "vitest";
import { fixNavigatorLocale, validLocale } from "./locale";

describe("validLocale", () => {
  it("keeps a real BCP 47 tag", () => {
    expect(validLocale("fr-FR")).toBe("fr-FR");
  });

  it("replaces the POSIX C locale that WebKitGTK reports under LANG=C.UTF-8", () => {
    expect(() => new Intl.NumberFormat("C")).toThrow(RangeError);
    expect(validLocale("C")).toBe("en-US");
    expect(validLocale("")).toBe("en-US");
  });
});

describe("fixNavigatorLocale", () => {
  it("makes a navigator that says C usable by Intl", () => {
    const nav = { language: "C", languages: ["C"] } as unknown as Navigator;
    fixNavigatorLocale(nav);
    expect(nav.language).toBe("en-US");
    expect(nav.languages).toEqual(["en-US"]);
    expect(() => new Intl.NumberFormat(nav.language)).not.toThrow();
  });

  it("leaves a valid navigator alone", () => {
    const nav = { language: "de-DE", languages: ["de-DE", "en"] } as unknown as Navigator;
    fixNavigatorLocale(nav);
    expect(nav.language).toBe("de-DE");
    expect(nav.languages).toEqual(["de-DE", "en"]);
  });
});
