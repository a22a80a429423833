// Who is signed in, for every page: loads GET /api/v1/auth/me once, keeps the
// CSRF token for writes, and says what the caller may do.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, setCSRFToken, type Me } from "./api/client";

interface AuthState {
  me: Me | null;
  loading: boolean;
  refresh: () => Promise<void>;
  can: (permission: string) => boolean;
}

const AuthContext = createContext<AuthState>({ me: null, loading: true, refresh: async () => {}, can: () => false });

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);
  const refresh = useCallback(async () => {
    try {
      const m = await api.me();
      setCSRFToken(m.csrf_token);
      setMe(m);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.error(e);
      setCSRFToken("");
      setMe(null);
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const can = useCallback((p: string) => !!me && !me.mfa_enrollment_required && !me.password_change_required && me.permissions.includes(p as never), [me]);
  return <AuthContext.Provider value={{ me, loading, refresh, can }}>{children}</AuthContext.Provider>;
}

export const useAuth = () => useContext(AuthContext);
