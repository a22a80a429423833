import { Badge, Tooltip } from "@mantine/core";

// The business tier of a finding's or a vulnerability's asset: the tightest
// criticality tier (1 mission critical ... 5 non-essential) of the business
// impact analyses that depend on it; 0 when none does (nothing shown).
const TIER_COLORS = ["", "red", "orange", "yellow", "blue", "gray"];

export const BUSINESS_TIERS = [1, 2, 3, 4, 5].map((t) => ({ value: String(t), label: `Tier ${t}` }));

export function BusinessTierBadge({ tier }: { tier?: number }) {
  if (!tier) return null;
  return (
    <Tooltip label="The tightest tier of the business processes that depend on this asset">
      <Badge size="sm" variant="light" color={TIER_COLORS[tier] ?? "gray"} data-testid="business-tier">Tier {tier}</Badge>
    </Tooltip>
  );
}
