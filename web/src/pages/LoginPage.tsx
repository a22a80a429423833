import { useState } from "react";
import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { Link, useNavigate } from "react-router-dom";
import { ApiError, api, setCSRFToken } from "../api/client";
import { useAuth } from "../auth";

export function LoginPage() {
  const { refresh } = useAuth();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [useRecovery, setUseRecovery] = useState(false);
  const [mfaStep, setMfaStep] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Parameters<typeof api.login>[0] = { email, password };
      if (mfaStep && otp) {
        if (useRecovery) body.recovery_code = otp;
        else body.otp = otp;
      }
      const res = await api.login(body);
      setCSRFToken(res.csrf_token);
      await refresh();
      navigate("/");
    } catch (err) {
      if (err instanceof ApiError && err.mfaRequired) {
        setMfaStep(true);
        setError(mfaStep ? "Enter the code from your authenticator app." : null);
      } else if (err instanceof ApiError && err.status === 429) {
        const minutes = err.retryAfter ? Math.ceil(err.retryAfter / 60) : null;
        setError(`Too many failed sign-ins for this email. Try again${minutes ? ` in about ${minutes} minute${minutes === 1 ? "" : "s"}` : " later"}.`);
      } else if (err instanceof ApiError && err.status === 401) {
        setError(mfaStep ? "That code is not valid." : "Invalid email or password.");
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
              <Alert color="red" role="alert" data-testid="login-error">
                {error}
              </Alert>
            )}
            {!mfaStep ? (
              <>
                <TextInput label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
                <PasswordInput label="Password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
              </>
            ) : (
              <>
                <Text size="sm">Your account uses multi-factor authentication.</Text>
                <TextInput
                  label={useRecovery ? "Recovery code" : "Code from your authenticator app"}
                  name="otp"
                  autoComplete="one-time-code"
                  inputMode={useRecovery ? "text" : "numeric"}
                  required
                  autoFocus
                  value={otp}
                  onChange={(e) => setOtp(e.currentTarget.value)}
                />
                <Anchor component="button" type="button" size="sm" onClick={() => setUseRecovery(!useRecovery)}>
                  {useRecovery ? "Use the authenticator app" : "Use a recovery code"}
                </Anchor>
              </>
            )}
            <Button type="submit" loading={busy}>
              {mfaStep ? "Verify" : "Sign in"}
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
