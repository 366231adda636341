// Runs before any other module of the app (main.ts imports it first): libraries read the locale
// when they load.
import { fixNavigatorLocale } from "./lib/locale";

fixNavigatorLocale();
