// Which tab of the side panel is shown; keyboard shortcuts and notifications switch it too.

import { writable } from "svelte/store";

/** The side panel's tabs, in the order shown; each has a `tab-<id>` test id. */
export const SIDE_TABS = [
  { id: "people", label: "People" },
  { id: "agents", label: "Agents" },
  { id: "metrics", label: "Metrics" },
  { id: "comments", label: "Comments" },
  { id: "reviews", label: "Reviews" },
  { id: "chat", label: "Chat" },
  { id: "activity", label: "Activity" },
  { id: "settings", label: "Settings" },
] as const;

export type SideTab = (typeof SIDE_TABS)[number]["id"];

export const sideTab = writable<SideTab>("people");
