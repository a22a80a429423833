import { useEffect, useState } from "react";
import { getSystemStatus, type SystemStatus } from "./api/client";

export type ToolStatus = NonNullable<SystemStatus["tools"]>[number];

// ToolInventory is what the forms know of the scanners before a scan is
// queued: the tools the process that runs the workers finds. checked is
// false when the answer says nothing about the workers (no workers in this
// process, or no tools in the answer): the server then decides alone.
export type ToolInventory = { checked: boolean; byName: Record<string, ToolStatus>; workersElsewhere: boolean };

export const unknownInventory: ToolInventory = { checked: false, byName: {}, workersElsewhere: false };

export function inventoryOf(status: SystemStatus | null): ToolInventory {
  if (!status || !status.tools) return unknownInventory;
  if (!status.queue.workers_in_process) return { checked: false, byName: {}, workersElsewhere: true };
  const byName: Record<string, ToolStatus> = {};
  for (const t of status.tools) byName[t.name] = t;
  return { checked: true, byName, workersElsewhere: false };
}

// isMissing: the inventory knows the tool and did not find it.
export function isMissing(inv: ToolInventory, tool: string): boolean {
  return inv.checked && inv.byName[tool] !== undefined && !inv.byName[tool].found;
}

// missingOf lists the tools among names that are missing, in order.
export function missingOf(inv: ToolInventory, names: string[]): ToolStatus[] {
  return names.filter((n) => isMissing(inv, n)).map((n) => inv.byName[n]);
}

// installHint says how to make a missing tool available.
export function installHint(t: ToolStatus): string {
  return `${t.label} is not installed${t.problem ? ` (${t.problem})` : ""}. Install: ${t.install}; or set ${t.setting} (${t.env}) to its executable.`;
}

// useToolInventory loads the inventory once.
export function useToolInventory(): ToolInventory {
  const [inv, setInv] = useState<ToolInventory>(unknownInventory);
  useEffect(() => {
    let live = true;
    getSystemStatus().then((s) => { if (live) setInv(inventoryOf(s)); }, () => {});
    return () => { live = false; };
  }, []);
  return inv;
}
