// WebKitGTK takes navigator.language from the process locale; under LANG=C or C.UTF-8 (CI, many
// containers) it is "C", which is not a BCP 47 tag: `new Intl.NumberFormat("C")` throws a RangeError.
// uPlot calls exactly that when its module loads, so one bad locale left the whole window blank.

/** `tag` if Intl accepts it as a locale, else `fallback`. */
export function validLocale(tag: string | undefined | null, fallback = "en-US"): string {
  if (!tag) return fallback;
  try {
    return Intl.NumberFormat.supportedLocalesOf([tag]).length > 0 ? tag : fallback;
  } catch {
    return fallback;
  }
}

/** Makes navigator.language (and languages) valid locale tags for libraries that pass them to Intl. */
export function fixNavigatorLocale(nav: Navigator | undefined = globalThis.navigator): void {
  if (!nav) return;
  const language = validLocale(nav.language);
  const languages = (nav.languages ?? []).map((l) => validLocale(l, "")).filter(Boolean);
  if (language === nav.language && languages.length === (nav.languages ?? []).length) return;
  try {
    Object.defineProperty(nav, "language", { value: language, configurable: true });
    Object.defineProperty(nav, "languages", { value: Object.freeze(languages.length ? languages : [language]), configurable: true });
  } catch {
    // A WebView that forbids it: the charts' own import catches what fails.
  }
}
