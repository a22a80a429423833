import type { JSX } from "react";
import { AppShell, Avatar, Burger, Button, Center, Group, Loader, Menu, NavLink, ScrollArea, Text, Title, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { areas } from "./areas";
import { useAuth } from "./auth";
import { api } from "./api/client";
import { StatusPage } from "./pages/StatusPage";
import { LoginPage } from "./pages/LoginPage";
import { AreaPlaceholder } from "./pages/AreaPlaceholder";
import { NotFoundPage } from "./pages/NotFoundPage";
import { AccountPage } from "./pages/AccountPage";
import { AdminPage } from "./pages/AdminPage";
import { PosturePage } from "./pages/PosturePage";
import { FindingsPage } from "./pages/FindingsPage";
import { ScansPage } from "./pages/ScansPage";
import { ImportPage } from "./pages/ImportPage";
import { VulnerabilitiesPage } from "./pages/VulnerabilitiesPage";
import { CloudAccountsPage } from "./pages/CloudAccountsPage";
import { ScanRunPage } from "./pages/ScanRunPage";
import { ComplianceArea } from "./pages/CompliancePage";
import { BIAArea } from "./pages/BIAPage";
import { KnowledgePage } from "./pages/KnowledgePage";
import { IntegrationsPage } from "./pages/IntegrationsPage";
import { MuteRulesPage } from "./pages/MuteRulesPage";

// Areas with a page of their own; the others show their placeholder.
const built: Record<string, JSX.Element> = {
  "/": <PosturePage />,
  "/findings": <FindingsPage />,
  "/scans": <ScansPage />,
  "/import": <ImportPage />,
  "/vulnerabilities": <VulnerabilitiesPage />,
  "/cloud-accounts": <CloudAccountsPage />,
  "/compliance": <ComplianceArea />,
  "/bia": <BIAArea />,
  "/knowledge-base": <KnowledgePage />,
  "/integrations": <IntegrationsPage />,
  "/mute-rules": <MuteRulesPage />,
};

const groups = ["Posture", "Governance", "Platform"] as const;

// Pages anyone may open without signing in.
const publicPaths = new Set(["/login", "/status"]);

export function App() {
  const location = useLocation();
  const { me, loading } = useAuth();
  if (location.pathname === "/login") return me ? <Navigate to="/" replace /> : <LoginPage />;
  if (loading) {
    return (
      <Center mih="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (!me && !publicPaths.has(location.pathname)) return <Navigate to="/login" replace />;
  if ((me?.password_change_required || me?.mfa_enrollment_required) && location.pathname !== "/account" && location.pathname !== "/status") {
    return <Navigate to="/account" replace />;
  }
  return <Shell />;
}

function UserMenu() {
  const { me, refresh } = useAuth();
  const navigate = useNavigate();
  if (!me) {
    return (
      <Button component={Link} to="/login" variant="subtle">
        Sign in
      </Button>
    );
  }
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton data-testid="user-menu" aria-label={`${me.user.email} (${me.role})`}>
          {/* On a phone the header has room for initials only; the menu says the rest. */}
          <Avatar hiddenFrom="sm" size="md" color="indigo" radius="xl">{me.user.email.slice(0, 2).toUpperCase()}</Avatar>
          <Text visibleFrom="sm" size="sm" fw={600}>{me.user.email}</Text>
          <Text visibleFrom="sm" size="xs" c="dimmed" ta="right">{me.role} · {me.team.name}</Text>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label hiddenFrom="sm">{me.user.email} · {me.role}</Menu.Label>
        <Menu.Item component={Link} to="/account">Your account</Menu.Item>
        <Menu.Item
          color="red"
          onClick={async () => {
            await api.logout().catch(() => undefined);
            await refresh();
            navigate("/login");
          }}
        >
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const { me, can } = useAuth();
  const visible = areas.filter((a) => {
    if (a.path === "/admin") return can("users:read") || can("audit:read");
    if (a.path === "/status") return true;
    if (a.path === "/import") return can("findings:import");
    if (a.path === "/integrations") return can("integrations:read");
    return !!me;
  });
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 250, breakpoint: "sm", collapsed: { mobile: !opened } }} padding={{ base: "sm", sm: "lg" }}>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <img src="/favicon.svg" alt="" width={26} height={26} />
            <Title order={4} visibleFrom="xs" style={{ whiteSpace: "nowrap" }}>OffloadSecurity CSPM</Title>
            <Title order={4} hiddenFrom="xs">CSPM</Title>
          </Group>
          <UserMenu />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <AppShell.Section grow component={ScrollArea}>
          {groups.map((g) => {
            const items = visible.filter((a) => a.group === g);
            if (items.length === 0) return null;
            return (
              <div key={g}>
                <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pt="md" pb={4}>
                  {g}
                </Text>
                {items.map((a) => (
                  <NavLink
                    key={a.path}
                    component={Link}
                    to={a.path}
                    label={a.label}
                    active={a.path === "/" ? location.pathname === "/" : location.pathname.startsWith(a.path)}
                    onClick={close}
                  />
                ))}
              </div>
            );
          })}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>
        <Routes>
          <Route path="/status" element={<StatusPage />} />
          <Route path="/account" element={<AccountPage />} />
          <Route path="/admin" element={<AdminPage />} />
          <Route path="/scans/:id" element={<ScanRunPage />} />
          <Route path="/compliance/*" element={<ComplianceArea />} />
          <Route path="/bia/*" element={<BIAArea />} />
          {areas
            .filter((a) => a.path !== "/status" && a.path !== "/admin")
            .map((a) => (
              <Route key={a.path} path={a.path} element={built[a.path] ?? <AreaPlaceholder area={a} />} />
            ))}
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </AppShell.Main>
    </AppShell>
  );
}
