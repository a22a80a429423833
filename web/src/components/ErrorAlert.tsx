import { Alert } from "@mantine/core";

export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Alert color="red" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

export function NoAccess() {
  return (
    <Alert color="yellow" title="No access" data-testid="no-access">
      Your role does not allow this page. Ask an administrator of your team.
    </Alert>
  );
}
