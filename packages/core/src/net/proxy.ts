/**
 * Which proxy an outgoing request goes through, from HTTPS_PROXY, HTTP_PROXY
 * and NO_PROXY (either case), as Go's net/http and curl read them: https URLs
 * use HTTPS_PROXY, http URLs HTTP_PROXY; NO_PROXY lists hosts (with or
 * without a port), domains (`.acme.com` or `acme.com` match their
 * subdomains), IP ranges (`10.0.0.0/8`) or `*`. Loopback addresses are never
 * proxied.
 */
import * as net from 'node:net';

type Env = Record<string, string | undefined>;

function envOf(env: Env, name: string): string {
  return env[name.toLowerCase()] || env[name.toUpperCase()] || '';
}

/** True for localhost and 127.0.0.0/8 and ::1. */
export function isLoopbackName(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const family = net.isIP(ip);
  if (!family || family !== net.isIP(base) || !Number.isInteger(bits)) return false;
  const list = new net.BlockList();
  list.addSubnet(base, bits, family === 6 ? 'ipv6' : 'ipv4');
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

function bypassed(host: string, port: string, noProxy: string): boolean {
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!m) continue;
    const name = m[1].replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (m[2] && m[2] !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy URL for a request to `url`, or undefined when it goes direct. */
export function proxyFor(url: string | URL, env: Env = process.env): string | undefined {
  const u = typeof url === 'string' ? new URL(url) : url;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopbackName(host)) return undefined;
  const proxy = envOf(env, u.protocol === 'https:' ? 'https_proxy' : u.protocol === 'http:' ? 'http_proxy' : '');
  if (!proxy) return undefined;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  if (bypassed(host, port, envOf(env, 'no_proxy'))) return undefined;
  return proxy.includes('://') ? proxy : `http://${proxy}`;
}

/** A proxy URL for messages: without the credentials it may carry. */
export function safeProxy(proxy: string): string {
  try {
    const u = new URL(proxy);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'the proxy';
  }
}
