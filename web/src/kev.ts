// Plain words for a failed CISA KEV sync. The raw error is the server's Go
// error (a URL, "dial tcp", a status line); a person needs to know what
// went wrong and what to do, with the raw text one click away.

export function kevErrorSummary(raw: string): string {
  const e = raw.toLowerCase();
  if (/no such host|server misbehaving|name resolution|lookup /.test(e)) {
    return "The CISA KEV catalog could not be downloaded: this server cannot resolve the catalog's host name. Check its DNS, or its proxy settings.";
  }
  if (/connection refused|connect: |network is unreachable|no route to host|dial tcp|i\/o timeout|deadline exceeded|timeout|tls|certificate|eof/.test(e)) {
    return "The CISA KEV catalog could not be downloaded: this server cannot reach the catalog URL. Check its internet access or proxy, or point CSPM_KEV_URL at a reachable copy.";
  }
  if (/status (4|5)\d\d|http (4|5)\d\d|\b(4|5)\d\d (not found|forbidden|internal|bad gateway|service unavailable)/.test(e)) {
    return "The CISA KEV catalog could not be downloaded: the catalog server answered with an error. Try again later, or check CSPM_KEV_URL.";
  }
  if (/json|decode|unmarshal|invalid character|unexpected end/.test(e)) {
    return "The file at the catalog URL is not a CISA KEV catalog. Check CSPM_KEV_URL.";
  }
  if (/disabled|not configured|no url|empty url/.test(e)) {
    return "KEV sync is turned off on this server (CSPM_KEV_URL is empty).";
  }
  return "The last CISA KEV sync failed. Vulnerabilities keep the KEV status of the last good sync.";
}
