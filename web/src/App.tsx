import { AppShell, Burger, Group, NavLink, ScrollArea, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Link, Route, Routes, useLocation } from "react-router-dom";
import { areas } from "./areas";
import { StatusPage } from "./pages/StatusPage";
import { LoginPage } from "./pages/LoginPage";
import { AreaPlaceholder } from "./pages/AreaPlaceholder";
import { NotFoundPage } from "./pages/NotFoundPage";

const groups = ["Posture", "Governance", "Platform"] as const;

export function App() {
  const location = useLocation();
  if (location.pathname === "/login") return <LoginPage />;
  return <Shell />;
}

function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 250, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={4}>OffloadSecurity CSPM</Title>
          </Group>
          <NavLink component={Link} to="/login" label="Sign in" w="auto" />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <AppShell.Section grow component={ScrollArea}>
          {groups.map((g) => (
            <div key={g}>
              <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pt="md" pb={4}>
                {g}
              </Text>
              {areas
                .filter((a) => a.group === g)
                .map((a) => (
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
          ))}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>
        <Routes>
          <Route path="/status" element={<StatusPage />} />
          {areas
            .filter((a) => a.path !== "/status")
            .map((a) => (
              <Route key={a.path} path={a.path} element={<AreaPlaceholder area={a} />} />
            ))}
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </AppShell.Main>
    </AppShell>
  );
}
