import { kindLabel, type Dependency } from "../bia";

type Node = { label: string; sub?: string; href?: string };

// OPEN_FAILURES is the findings explorer's default view, made explicit so
// that a link keeps it beside its own filter.
const OPEN_FAILURES = "status=open,reopened&result=fail";

// findingsHref links a dependency to the open failures on it in the
// findings explorer (the same matching as analytics: an account by its
// ID, a resource by its UID, a host or an image by text); a process to its
// own analysis. Tags, vendors and people have no such list.
export function findingsHref(d: Dependency): string | undefined {
  const v = encodeURIComponent(d.value);
  switch (d.kind) {
    case "cloud_account": return `/findings?account=${v}&${OPEN_FAILURES}`;
    case "resource": return `/findings?resource=${v}&${OPEN_FAILURES}`;
    case "network_host":
    case "container_image": return `/findings?q=${v}&${OPEN_FAILURES}`;
    case "process": return `/bia/${v}`;
    default: return undefined;
  }
}

const W = 760;
const ROW = 34;

function trim(s: string, n = 34) {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

// BIAGraph draws a process between what depends on it (left) and what it
// depends on (right), with the findings on its dependencies at its centre.
export function BIAGraph({ name, dependedOnBy, dependencies, processes, openFindings, kev }: {
  name: string;
  dependedOnBy: string[];
  dependencies: Dependency[];
  processes: Record<string, string>;
  openFindings?: number;
  kev?: number;
}) {
  const left: Node[] = dependedOnBy.map((n) => ({ label: n, sub: "process" }));
  const right: Node[] = dependencies.map((d) => ({
    label: d.kind === "process" ? processes[d.value] ?? d.value : d.value,
    sub: kindLabel(d.kind),
    href: findingsHref(d),
  }));
  const rows = Math.max(left.length, right.length, 1);
  const h = rows * ROW + 40;
  const cy = h / 2;
  const y = (i: number, n: number) => cy + (i - (n - 1) / 2) * ROW;
  const box = (x: number, yy: number, n: Node, key: string, testid?: string) => {
    const g = (
      <g key={key} data-testid={testid}>
        <rect x={x} y={yy - 13} width={220} height={26} rx={5} fill="#f1f3f5" stroke={n.href ? "#4c6ef5" : "#ced4da"} />
        <text x={x + 8} y={yy + 4} fontSize={12} fill={n.href ? "#364fc7" : undefined}>{trim(n.label)}</text>
        {n.sub && <text x={x + 212} y={yy + 4} fontSize={9} fill="#868e96" textAnchor="end">{n.sub}</text>}
      </g>
    );
    return n.href ? <a key={key} href={n.href} aria-label={`Open failures on ${n.label}`}>{g}</a> : g;
  };
  return (
    <svg viewBox={`0 0 ${W} ${h}`} width="100%" role="img" aria-label={`Dependencies of ${name}`} data-testid="bia-graph">
      {left.map((_, i) => <line key={"l" + i} x1={230} y1={y(i, left.length)} x2={290} y2={cy} stroke="#adb5bd" />)}
      {right.map((_, i) => <line key={"r" + i} x1={470} y1={cy} x2={530} y2={y(i, right.length)} stroke="#adb5bd" />)}
      {left.map((n, i) => box(10, y(i, left.length), n, "ln" + i))}
      {right.map((n, i) => box(530, y(i, right.length), n, "rn" + i, "bia-graph-dependency"))}
      <rect x={290} y={cy - 24} width={180} height={48} rx={8} fill="#4c6ef5" />
      <text x={380} y={cy - 5} fontSize={13} fill="white" textAnchor="middle" fontWeight={700}>{trim(name, 24)}</text>
      <text x={380} y={cy + 13} fontSize={11} fill="white" textAnchor="middle">
        {openFindings ?? 0} open findings · {kev ?? 0} KEV
      </text>
    </svg>
  );
}
