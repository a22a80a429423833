import { useState } from "react";
import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { ApiError, apiFetch } from "../api/client";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await apiFetch("/api/v1/auth/login", { method: "POST", body: JSON.stringify({ email, password }) });
      window.location.assign("/");
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        setError("Sign-in is not enabled on this server yet.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={submit}>
          <Stack>
            <Title order={3}>Sign in to OffloadSecurity CSPM</Title>
            {error && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
            <Anchor component={Link} to="/status" size="sm">
              System status
            </Anchor>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
