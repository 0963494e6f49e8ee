/** Authenticating Gupy's calls: a static secret in `Authorization`, and an optional address allowlist. */
import { BlockList, isIPv4 } from 'node:net'

/** `Authorization: Bearer <secret>` or `Authorization: <secret>` (Gupy sends the header verbatim). */
export function presentedSecret (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const value = header.trim()
  const bearer = /^bearer\s+(.+)$/i.exec(value)
  const secret = bearer?.[1]?.trim() ?? value
  return secret === '' ? undefined : secret
}

/** Builds `allowed(ip)` from addresses and CIDR ranges; an empty list allows everyone. */
export function addressAllowlist (entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => true
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/')
    const type = isIPv4(address) ? 'ipv4' : 'ipv6'
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(prefix), type)
  }
  return (ip) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] // IPv4 clients of a dual-stack socket
    if (v4 !== undefined) return list.check(v4, 'ipv4')
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')
  }
}
