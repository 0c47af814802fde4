import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { env } from '../env';

/**
 * Where provider requests may go. A channel's URL is typed by an admin (or by whoever
 * holds an admin session), and the worker then POSTs to it with the channel's secrets:
 * without a rule, that is a way to reach the database port, a cloud metadata endpoint
 * (169.254.169.254) or any service on the private network (SSRF).
 *
 * - only http(s) URLs (channelConfig's zod);
 * - CHANNEL_ALLOWED_HOSTS, when set: only those hosts (`*.example.com` for subdomains);
 * - loopback, link-local, private, CGNAT, unspecified and multicast addresses refused
 *   unless CHANNEL_ALLOW_PRIVATE is on (on by default under `npm run dev`; the tests and
 *   the fake providers on 127.0.0.1 turn it on).
 * Checked when a channel is saved (a clear field error) and again on every connection,
 * on the address DNS actually returned (connectLookup), so a name that resolves to a
 * public address when saved and to 127.0.0.1 later (DNS rebinding) is still refused.
 */

const blocked = new BlockList();
for (const [net, bits] of [
	['0.0.0.0', 8],
	['10.0.0.0', 8],
	['100.64.0.0', 10],
	['127.0.0.0', 8],
	['169.254.0.0', 16],
	['172.16.0.0', 12],
	['192.0.0.0', 24],
	['192.168.0.0', 16],
	['198.18.0.0', 15],
	['224.0.0.0', 3]
] as const) {
	blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
	['::', 128],
	['::1', 128],
	['fc00::', 7],
	['fe80::', 10],
	['ff00::', 8]
] as const) {
	blocked.addSubnet(net, bits, 'ipv6');
}

/** An address a provider request must not reach (IPv4-mapped IPv6 judged as IPv4). */
export function isBlockedAddress(address: string): boolean {
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	if (mapped) return blocked.check(mapped[1], 'ipv4');
	const family = isIP(address);
	if (family === 4) return blocked.check(address, 'ipv4');
	if (family === 6) return blocked.check(address, 'ipv6');
	return false;
}

function privateAllowed(): boolean {
	const c = env().channels;
	return c.allowPrivate ?? env().web.isDev;
}

function hostAllowed(host: string): boolean {
	const list = env().channels.allowedHosts;
	if (list.length === 0) return true;
	const h = host.toLowerCase();
	return list.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p));
}

/** Why a provider URL is refused, or null: scheme, allowlist, and a literal or well-known private host. */
export function urlProblem(raw: string): string | null {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return 'is not a URL';
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
	if (url.username || url.password) return 'must not carry a user name or password';
	const host = url.hostname.replace(/^\[|\]$/g, '');
	if (!hostAllowed(host)) return `host ${host} is not in CHANNEL_ALLOWED_HOSTS`;
	if (!privateAllowed() && (host === 'localhost' || host.endsWith('.localhost') || isBlockedAddress(host))) {
		return `points to a loopback, link-local or private address (${host}); set CHANNEL_ALLOW_PRIVATE=1 to allow it`;
	}
	return null;
}

/** Resolves a host now and refuses it if any address is blocked (the save-time check of a name). */
export async function resolvedProblem(raw: string): Promise<string | null> {
	if (privateAllowed()) return null;
	const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
	if (isIP(host)) return null;
	const addrs = await new Promise<LookupAddress[]>((resolve) => dnsLookup(host, { all: true }, (err, a) => resolve(err ? [] : a)));
	const bad = addrs.find((a) => isBlockedAddress(a.address));
	return bad ? `resolves to a loopback, link-local or private address (${bad.address}); set CHANNEL_ALLOW_PRIVATE=1 to allow it` : null;
}

export class BlockedAddressError extends Error {
	code = 'EBLOCKEDADDRESS';
	constructor(readonly host: string, readonly address: string) {
		super(`${host} resolves to ${address}, a loopback, link-local or private address (CHANNEL_ALLOW_PRIVATE is off)`);
	}
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The DNS lookup of every provider connection (undici's connect.lookup): the address a
 * socket is about to connect to is checked, not the one seen when the channel was saved.
 */
export function connectLookup(hostname: string, options: object, callback: LookupCallback): void {
	dnsLookup(hostname, options as never, ((err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
		if (err || privateAllowed()) return callback(err, address, family);
		const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
		const bad = list.find(isBlockedAddress);
		if (bad) return callback(new BlockedAddressError(hostname, bad) as NodeJS.ErrnoException, address, family);
		callback(null, address, family);
	}) as never);
}

/** Refuses a literal-IP host at send time (sockets skip the lookup for those). */
export function literalAddressProblem(raw: string): string | null {
	if (privateAllowed()) return null;
	const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
	if (host === 'localhost' || host.endsWith('.localhost')) return host;
	return isIP(host) && isBlockedAddress(host) ? host : null;
}
