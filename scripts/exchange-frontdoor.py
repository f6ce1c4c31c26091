#!/usr/bin/python3
"""The private mail stack's Exchange Online front door (scripts/mail-stack, with
MAIL_STACK_MX=exchange): Postfix hands it every message it delivers (a pipe
transport), after the MX's real verifiers (OpenDKIM, OpenDMARC) have judged it; it
rewrites the header the way Exchange Online delivers inbound mail into a tenant's
mailbox, then delivers it to the IMAP server over LMTP.

What it reproduces (the shapes in tests/fixtures/exchange-online/README.md, from
public captures):
- the verdict of the MX's verifiers becomes Exchange's id-less Authentication-Results
  (`spf=… smtp.mailfrom=…; dkim=pass (signature was verified) header.d=…;dmarc=pass
  action=none header.from=…;compauth=pass reason=100`), and their own fields go;
- the MX's own Received becomes the front door (`by LAB…mail.protection.outlook.com
  … via Frontend Transport`), under Microsoft's internal hops (one `with HTTPS`, one
  `via Frontend Transport` by `…outlook.office365.com`) and above the sender's fields,
  which stay as written (their own Authentication-Results, ARC sets, look-alike
  Received, another tenant's X-MS-Exchange-CrossTenant-* stamps);
- X-MS-Exchange-Organization-* fields a sender wrote are removed (Exchange's header
  firewall, documented for mail from untrusted sources);
- Exchange's stamps are appended at the end of the header: X-MS-Exchange-Organization-
  AuthAs: Anonymous, X-Forefront-Antispam-Report … DIR:INB, and the receiving tenant's
  X-MS-Exchange-CrossTenant-Id, AuthAs: Anonymous, FromEntityHeader: Internet.

Usage (by Postfix): exchange-frontdoor.py LMTP_HOST:PORT TENANT AUTHSERV_ID SENDER RECIPIENT
Exit 0 delivered, 75 try again later (EX_TEMPFAIL), 69 refused for good.
"""

import email.utils
import re
import smtplib
import sys
import time

EX_TEMPFAIL, EX_UNAVAILABLE = 75, 69
FRONT = "LAB01PEPF00039231"


def fields(header):
    """The header's fields as (name, raw bytes of the whole field, unfolded text)."""
    out, current = [], None
    for line in header.split(b"\n"):
        if line in (b"", b"\r"):
            continue
        if line[:1] in (b" ", b"\t") and current is not None:
            current[1] += b"\n" + line
            continue
        name = line.split(b":", 1)[0].decode("latin-1").strip()
        current = [name, line]
        out.append(current)
    return [(n, raw, re.sub(r"\s+", " ", raw.decode("utf-8", "replace")).split(":", 1)[-1].strip()) for n, raw in out]


def verdicts(own, authserv):
    """method -> (result, the domain it names) from the MX's verifiers' fields."""
    found = {}
    for value in own:
        body = value[len(authserv):].lstrip(" ;") if value.lower().startswith(authserv) else value
        body = re.sub(r"\([^)]*\)", "", body)  # comments may hold ";"
        for clause in body.split(";"):
            m = re.match(r"\s*([a-z]+)=([a-z]+)(.*)", clause.strip())
            if not m:
                continue
            method, result, rest = m.group(1), m.group(2), m.group(3)
            d = re.search(r"header\.(?:d|from)=([^\s;]+)", rest)
            if method not in found or result == "pass":
                found[method] = (result, d.group(1) if d else None)
    return found


def exchange_results(found, mailfrom_domain, ip, from_domain):
    dkim, dkim_d = found.get("dkim", ("none", None))
    dmarc, _ = found.get("dmarc", ("none", None))
    dkim_text = (
        f"dkim=pass (signature was verified) header.d={dkim_d}" if dkim == "pass"
        else f"dkim={dkim} (signature did not verify) header.d={dkim_d or 'none'}" if dkim in ("fail", "permerror")
        else "dkim=none (message not signed) header.d=none"
    )
    action = "oreject" if dmarc == "fail" else "none"
    if dmarc == "pass":
        compauth = "compauth=pass reason=100"
    elif dmarc == "fail":
        compauth = "compauth=fail reason=000"
    elif dkim == "pass":
        compauth = "compauth=softpass reason=201"
    else:
        compauth = "compauth=none reason=905"
    return (f"spf=none (sender IP is {ip}) smtp.mailfrom={mailfrom_domain}; {dkim_text};"
            f"dmarc={dmarc} action={action} header.from={from_domain};{compauth}")


def main():
    lmtp, tenant, authserv, sender, recipient = sys.argv[1:6]
    authserv = authserv.lower()
    raw = sys.stdin.buffer.read()
    end = raw.find(b"\n\n")
    end2 = raw.find(b"\r\n\r\n")
    if end2 != -1 and (end == -1 or end2 < end):
        header, body = raw[:end2 + 2], raw[end2 + 4:]
    elif end != -1:
        header, body = raw[:end + 1], raw[end + 2:]
    else:
        header, body = raw, b""
    all_fields = fields(header)
    own = [text for name, _, text in all_fields
           if name.lower() == "authentication-results" and text.lower().startswith(authserv)]
    kept, receipt = [], None
    for name, raw_field, text in all_fields:
        low = name.lower()
        if low == "authentication-results" and text.lower().startswith(authserv):
            continue  # the MX's verdict, rewritten below
        if receipt is None and low == "received":
            receipt = text  # the MX's own hop: it becomes the front door
            continue
        if low.startswith("x-ms-exchange-organization-"):
            continue  # Exchange's header firewall
        kept.append(raw_field)
    ip_match = re.search(r"\[([0-9a-fA-F:.]+)\]", receipt or "")
    ip = ip_match.group(1) if ip_match else "127.0.0.1"
    helo = re.match(r"from\s+(\S+)", receipt or "")
    helo = helo.group(1) if helo else "unknown"
    from_field = next((t for n, _, t in all_fields if n.lower() == "from"), "")
    from_addr = email.utils.parseaddr(from_field)[1]
    from_domain = from_addr.rsplit("@", 1)[-1].lower() if "@" in from_addr else "none"
    mailfrom_domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else from_domain
    results = exchange_results(verdicts(own, authserv), mailfrom_domain, ip, from_domain)
    now = email.utils.formatdate(time.time(), usegmt=False).replace("-0000", "+0000")
    top = [
        f"Received: from LAB02P195MB0712.EURP195.PROD.OUTLOOK.COM (::1) by\n LAB03P195MB1201.EURP195.PROD.OUTLOOK.COM with HTTPS; {now}",
        f"Received: from {FRONT}.eurprd03.prod.outlook.com\n (2603:10a6:10:54d:cafe::1c) by LAB02P195CA0011.outlook.office365.com\n (2603:10a6:10:54d::13) with Microsoft SMTP Server (version=TLS1_3,\n cipher=TLS_AES_256_GCM_SHA384) id 15.20.9412.6 via Frontend Transport; {now}",
        f"Authentication-Results: {results}",
        f"Received-SPF: None (protection.outlook.com: {mailfrom_domain} does not\n designate permitted sender hosts)",
        f"Received: from {helo} ({ip}) by\n {FRONT}.mail.protection.outlook.com (10.167.8.102) with Microsoft\n SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.9412.6\n via Frontend Transport; {now}",
        f"X-IncomingTopHeaderMarker:\n OriginalChecksum:5C2D1E0F3A4B;UpperCasedChecksum:5C2D1E0F3A4B;SizeAsReceived:{len(raw)};Count:{len(kept)}",
    ]
    tail = [
        f"X-IncomingHeaderCount: {len(kept)}",
        "X-MS-Exchange-Organization-AuthAs: Anonymous",
        f"X-MS-Exchange-Organization-AuthSource: {FRONT}.eurprd03.prod.outlook.com",
        f"X-Forefront-Antispam-Report: CIP:{ip};CTRY:;LANG:ro;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:{helo};CAT:NONE;DIR:INB;",
        f"X-MS-Exchange-CrossTenant-Id: {tenant}",
        f"X-MS-Exchange-CrossTenant-AuthSource: {FRONT}.eurprd03.prod.outlook.com",
        "X-MS-Exchange-CrossTenant-AuthAs: Anonymous",
        "X-MS-Exchange-CrossTenant-FromEntityHeader: Internet",
    ]
    crlf = lambda s: s.replace("\n", "\r\n").encode()
    out = b"".join(crlf(f) + b"\r\n" for f in top)
    out += b"".join(f.rstrip(b"\r").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n" for f in kept)
    out += b"".join(crlf(f) + b"\r\n" for f in tail)
    out += b"\r\n" + body
    host, port = lmtp.rsplit(":", 1)
    try:
        with smtplib.LMTP(host, int(port), timeout=60) as server:
            refused = server.sendmail(sender or "<>", [recipient], out)
            if refused:
                return EX_TEMPFAIL
    except smtplib.SMTPResponseException as e:
        return EX_UNAVAILABLE if 500 <= e.smtp_code < 600 else EX_TEMPFAIL
    except smtplib.SMTPRecipientsRefused as e:
        codes = [c for c, _ in e.recipients.values()]
        return EX_UNAVAILABLE if all(500 <= c < 600 for c in codes) else EX_TEMPFAIL
    except (OSError, smtplib.SMTPException):
        return EX_TEMPFAIL
    return 0


if __name__ == "__main__":
    sys.exit(main())
