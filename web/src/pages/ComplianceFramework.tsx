import { useEffect, useMemo, useState } from "react";
import { ActionIcon, Anchor, Badge, Button, Card, Chip, Group, ScrollArea, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { Link, useSearchParams } from "react-router-dom";
import { ErrorAlert } from "../components/ErrorAlert";
import {
  buildTree, complianceApi, controlHref, filterActive, filterTree, flatten, formatScore, parentUrns, statusColor, statusLabel, STATUSES,
  type FrameworkDetail, type FrameworkNode, type TreeNode,
} from "../compliance";
import { ScoreRing, StatusCounts } from "./CompliancePage";

const wrap = { overflowWrap: "anywhere" as const };

export function StatusBadge({ status, attested }: { status: string; attested?: boolean }) {
  return (
    <Badge color={statusColor(status)} variant="light" data-testid="status-badge" style={{ whiteSpace: "nowrap" }}>
      {statusLabel(status)}{attested ? " (attested)" : ""}
    </Badge>
  );
}

// Controls lists the SCF controls a requirement maps to, each a link to its detail.
function Controls({ n, isSCF }: { n: FrameworkNode; isSCF: boolean }) {
  if (isSCF && n.assessable) {
    return <Anchor component={Link} to={controlHref(n.urn)} size="sm" data-testid="control-link" data-status={n.status}>Details</Anchor>;
  }
  const cs = n.controls ?? [];
  if (cs.length === 0) return n.assessable ? <Text size="xs" c="dimmed">no SCF mapping</Text> : null;
  return (
    <Group gap={4}>
      {cs.slice(0, 12).map((c) => (
        <Anchor key={c.urn} component={Link} to={controlHref(c.urn)} data-testid="control-link" data-status={c.status} title={`${c.name}: ${statusLabel(c.status)}, ${formatScore(c.score)} (${c.coverage}, via ${c.via})`}>
          <Badge size="sm" variant="dot" color={statusColor(c.status)} style={{ cursor: "pointer", textTransform: "none" }}>{c.ref_id}</Badge>
        </Anchor>
      ))}
      {cs.length > 12 && <Text size="xs" c="dimmed">+{cs.length - 12} more</Text>}
    </Group>
  );
}

function Row({ t, level, open, toggle, isSCF }: { t: TreeNode; level: number; open: boolean; toggle: () => void; isSCF: boolean }) {
  const n = t.node;
  const hasKids = t.children.length > 0;
  return (
    <Table.Tr data-testid="requirement-row" data-urn={n.urn}>
      <Table.Td style={{ paddingLeft: 8 + level * 18 }}>
        <Group gap={4} wrap="nowrap" align="flex-start">
          {hasKids ? (
            <ActionIcon size="sm" variant="subtle" onClick={toggle} aria-label={open ? "Collapse" : "Expand"} data-testid="node-toggle">
              {open ? "▾" : "▸"}
            </ActionIcon>
          ) : (
            <span style={{ width: 22, flex: "none" }} />
          )}
          <div style={{ minWidth: 0 }}>
            <Text size="sm" fw={hasKids ? 600 : 500} style={wrap}>{n.ref_id || "—"}</Text>
            <Text size="xs" c="dimmed" lineClamp={2} style={wrap}>{n.name || n.description}</Text>
          </div>
        </Group>
      </Table.Td>
      <Table.Td>{(n.assessable || hasKids) && <StatusBadge status={n.status} />}</Table.Td>
      <Table.Td ta="right"><Text size="sm" fw={600} data-testid="requirement-score">{formatScore(n.score)}</Text></Table.Td>
      <Table.Td><Text size="xs">{n.coverage || ""}</Text></Table.Td>
      <Table.Td><Controls n={n} isSCF={isSCF} /></Table.Td>
    </Table.Tr>
  );
}

export function ComplianceFrameworkPage({ id }: { id: string }) {
  const [params, setParams] = useSearchParams();
  const [f, setF] = useState<FrameworkDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Local state, mirrored to the URL: the router applies URL changes in a
  // transition, and a second quick click would start from the stale list.
  const [statuses, setStatusState] = useState<string[]>(() => (params.get("status") ? params.get("status")!.split(",") : []));
  const [text, setText] = useState("");
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  useEffect(() => {
    setF(null);
    complianceApi.framework(id).then((d) => {
      setF(d);
      setError(null);
      // Open the node the link points at (a heatmap domain) and its ancestors.
      const focus = params.get("open");
      if (focus) {
        const parent = new Map(d.tree.map((n) => [n.urn, n.parent_urn]));
        const open = new Set<string>();
        for (let u: string | undefined = focus; u; u = parent.get(u)) open.add(u);
        setExpanded(open);
      }
    }, setError);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  const roots = useMemo(() => (f ? buildTree(f.tree) : []), [f]);
  const filter = { statuses, text };
  const shown = useMemo(() => filterTree(roots, filter), [roots, statuses.join(","), text]); // eslint-disable-line react-hooks/exhaustive-deps
  const active = filterActive(filter);
  const open = useMemo(() => (active ? new Set(parentUrns(shown)) : expanded), [active, shown, expanded]);
  const rows = useMemo(() => flatten(shown, open), [shown, open]);

  if (!f) return (<><Title order={2}>Framework</Title><ErrorAlert error={error} /></>);
  const setStatuses = (v: string[]) => {
    setStatusState(v);
    const next = new URLSearchParams(params);
    if (v.length) next.set("status", v.join(","));
    else next.delete("status");
    setParams(next, { replace: true });
  };
  const toggle = (urn: string) => {
    const next = new Set(expanded);
    if (next.has(urn)) next.delete(urn);
    else next.add(urn);
    setExpanded(next);
  };
  const limit = 600;
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Group wrap="nowrap" align="flex-start" style={{ minWidth: 0, flex: "1 1 300px" }}>
          <ScoreRing score={f.score} size={96} testid="framework-detail-score" />
          <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
            <Title order={2} style={wrap} data-testid="framework-title">{f.name}</Title>
            <Group gap={4}>
              <Badge variant="outline">{f.source}</Badge>
              {f.version && <Badge variant="outline" color="gray">v{f.version}</Badge>}
              {f.provider && <Badge variant="outline" color="gray">{f.provider}</Badge>}
            </Group>
            <Text size="sm" c="dimmed">{f.assessable} assessable requirements · {f.domains} top-level sections</Text>
            <StatusCounts counts={f.counts} />
          </Stack>
        </Group>
        <Group gap="xs">
          <Button component="a" href={complianceApi.exportURL(f.id, "csv")} download variant="light" size="xs" data-testid="export-csv">Export CSV</Button>
          <Button component="a" href={complianceApi.exportURL(f.id, "xlsx")} download variant="light" size="xs" data-testid="export-xlsx">Export XLSX</Button>
        </Group>
      </Group>
      {f.copyright && <Text size="xs" c="dimmed" style={wrap}>{f.copyright}</Text>}
      <Card withBorder>
        <Stack gap="sm">
          <Group align="end">
            <Chip.Group multiple value={statuses} onChange={setStatuses}>
              <Group gap={6} data-testid="status-filter">
                {STATUSES.map((s) => (
                  <Chip key={s} value={s} size="xs" color={statusColor(s)} data-testid={`filter-${s}`}>{statusLabel(s)}</Chip>
                ))}
              </Group>
            </Chip.Group>
            <TextInput size="xs" w={240} placeholder="Search reference or name" value={text} onChange={(e) => setText(e.currentTarget.value)} data-testid="requirement-search" />
            {!active && (
              <Group gap={4}>
                <Button size="xs" variant="subtle" onClick={() => setExpanded(new Set(parentUrns(roots)))}>Expand all</Button>
                <Button size="xs" variant="subtle" onClick={() => setExpanded(new Set())}>Collapse all</Button>
              </Group>
            )}
          </Group>
          {rows.length === 0 && <Text size="sm" c="dimmed" data-testid="requirements-none">No requirement matches.</Text>}
          <ScrollArea type="auto">
            <Table miw={840} verticalSpacing={4} data-testid="requirements-table" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Requirement</Table.Th>
                  <Table.Th w={130}>Status</Table.Th>
                  <Table.Th w={80} ta="right">Score</Table.Th>
                  <Table.Th w={80}>Coverage</Table.Th>
                  <Table.Th w="30%">{f.is_scf ? "Control" : "SCF controls"}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.slice(0, limit).map(({ t, level }) => (
                  <Row key={t.node.urn} t={t} level={level} open={open.has(t.node.urn)} toggle={() => toggle(t.node.urn)} isSCF={f.is_scf} />
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
          {rows.length > limit && <Text size="sm" c="dimmed">Showing {limit} of {rows.length} rows: narrow the filter to see the rest.</Text>}
        </Stack>
      </Card>
    </Stack>
  );
}
