// The rows a bulk action applies to: some findings by ID, or every finding
// the current filter matches ("all matching", which the server counts and
// caps). Changing the filter clears the selection.

export type Selection = { mode: "ids"; ids: number[] } | { mode: "filter" };

export const EMPTY: Selection = { mode: "ids", ids: [] };

export function toggle(s: Selection, id: number): Selection {
  if (s.mode === "filter") return { mode: "ids", ids: [id] };
  return s.ids.includes(id) ? { mode: "ids", ids: s.ids.filter((x) => x !== id) } : { mode: "ids", ids: [...s.ids, id] };
}

// togglePage selects every row shown, or none when they all are.
export function togglePage(s: Selection, pageIDs: number[]): Selection {
  if (s.mode === "filter") return EMPTY;
  const all = pageIDs.length > 0 && pageIDs.every((id) => s.ids.includes(id));
  if (all) return { mode: "ids", ids: s.ids.filter((id) => !pageIDs.includes(id)) };
  return { mode: "ids", ids: [...s.ids, ...pageIDs.filter((id) => !s.ids.includes(id))] };
}

export function selectAllMatching(): Selection {
  return { mode: "filter" };
}

export function isSelected(s: Selection, id: number): boolean {
  return s.mode === "filter" || s.ids.includes(id);
}

// pageState is the header checkbox: all rows shown selected, some, or none.
export function pageState(s: Selection, pageIDs: number[]): "all" | "some" | "none" {
  if (s.mode === "filter") return pageIDs.length ? "all" : "none";
  const n = pageIDs.filter((id) => s.ids.includes(id)).length;
  return n === 0 ? "none" : n === pageIDs.length ? "all" : "some";
}

// count is how many findings the selection names, given the filter's total.
export function count(s: Selection, total: number): number {
  return s.mode === "filter" ? total : s.ids.length;
}

// target is the bulk request's ids or filter.
export function target(s: Selection, filter: Record<string, unknown>): { ids: number[] } | { filter: Record<string, unknown> } {
  return s.mode === "filter" ? { filter } : { ids: s.ids };
}

// MAX_TICKETS is how many findings one bulk ticket send takes (the API's
// limit): each is an issue created in the ticket system while the request
// waits.
export const MAX_TICKETS = 100;

// ticketIDs resolves a selection to the finding IDs a bulk ticket send
// takes. The tickets API takes IDs, not a filter, so "all matching" is read
// through the findings list with the same filter, up to the limit; a filter
// matching more is refused with its count rather than cut short.
export async function ticketIDs(
  s: Selection,
  list: (query: Record<string, string>) => Promise<{ total: number; findings: { id: number }[] }>,
  query: Record<string, string>,
): Promise<string[]> {
  if (s.mode === "ids") {
    if (s.ids.length > MAX_TICKETS) throw new Error(`${s.ids.length} findings selected: at most ${MAX_TICKETS} are sent at a time.`);
    return s.ids.map(String);
  }
  const r = await list({ ...query, limit: String(MAX_TICKETS) });
  if (r.total > MAX_TICKETS) {
    throw new Error(`${r.total} findings match the filter: at most ${MAX_TICKETS} are sent to a ticket system at a time. Narrow the filter.`);
  }
  return r.findings.map((f) => String(f.id));
}
