"""Build the demo's data files into resources/demo/data/.

Run by a developer when the demo data should change, never at runtime:

    .venv/bin/python resources/demo/build_demo_data.py

Needs scikit-learn (the `dev` extra). Deterministic: fixed seeds and only the
datasets that ship inside scikit-learn, so the files are identical on every
run with the same library versions. Writes, per eval set:

    data/<set>/samples.jsonl     id, input, reference, slice fields
    data/<set>/baseline.jsonl    id, output, score (where given)
    data/<set>/candidate.jsonl   id, output, score (where given)

plus data/digit-denoise/images.parquet (id, kind, png: the PNG files of the
image set, unpacked into the workspace repo by plugins/demo) and
data/truth.json: eval set -> change class -> expected count,
computed here with a plain loop that follows PRODUCT.md's definitions, and
independently of app/core/compare.py, so the two can check each other.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

# scikit-learn is imported where the models are trained, so that the truth
# loop below can be imported (by the tests) without it.

SEED = 20240501
OUT = Path(__file__).resolve().parent / "data"
CLASSES = ("unchanged", "changed", "improved", "regressed", "missing")


# ---------------------------------------------------------------- helpers

def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def token_f1(prediction: str, reference: str) -> float:
    p, r = tokens(prediction), tokens(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return round(2 * precision * recall / (precision + recall), 4)


# ---------------------------------------------------------------- 1. digits (label)

INK = " .:-=+*#%@"


def ascii_digit(image: np.ndarray) -> str:
    """An 8x8 digit (values 0-16) as 8 lines of 16 characters."""
    lines = []
    for row in image:
        lines.append("".join(INK[int(v) * (len(INK) - 1) // 16] * 2 for v in row).rstrip())
    return "\n".join(lines)


def build_digits() -> tuple[list, list, list]:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x, y = digits.data, digits.target
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=0.4, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    small = rng.choice(train, size=150, replace=False)
    baseline = LogisticRegression(max_iter=5000).fit(x[small] / 16.0, y[small])
    candidate = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=SEED).fit(x[train] / 16.0, y[train])

    test = np.sort(test)
    ink = x[test].sum(axis=1)
    thin_below = float(np.median(ink))
    samples, base_rows, cand_rows = [], [], []
    probas = {"baseline": baseline.predict_proba(x[test] / 16.0), "candidate": candidate.predict_proba(x[test] / 16.0)}
    classes = {"baseline": baseline.classes_, "candidate": candidate.classes_}
    for n, i in enumerate(test):
        sid = f"digit-{i:04d}"
        truth = int(y[i])
        samples.append({
            "id": sid,
            "input": ascii_digit(digits.images[i]),
            "reference": str(truth),
            "stroke": "thin" if ink[n] < thin_below else "thick",
            "digit_group": "0-4" if truth <= 4 else "5-9",
        })
        for side, rows in (("baseline", base_rows), ("candidate", cand_rows)):
            proba = probas[side][n]
            cls = list(classes[side])
            best = int(np.argmax(proba))           # the output is the argmax, so score and output agree
            rows.append({
                "id": sid,
                "output": str(int(cls[best])),
                "score": round(float(proba[cls.index(truth)]) if truth in cls else 0.0, 4),
                "confidence": round(float(proba[best]), 4),
            })
    return samples, base_rows, cand_rows


# ---------------------------------------------------------------- 2. support-replies (text)

NAMES = ["Maria", "Jonas", "Aisha", "Wei", "Lucas", "Emma", "Noah", "Priya", "Mateo", "Sofia", "Omar", "Chloe",
         "Kenji", "Fatima", "Liam", "Olga", "Tomás", "Zoë", "Björn", "Amélie"]
ITEMS = ["rain jacket", "hiking boots", "coffee grinder", "desk lamp", "wool sweater", "backpack", "blender",
         "phone case", "yoga mat", "headphones"]
CARRIERS = ["DHL", "UPS", "FedEx", "Royal Mail", "La Poste"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

MESSAGES = {
    "billing": [
        "Hi, I was charged twice for order #{order}. Can you refund the extra {amount}?",
        "My card shows two payments of {amount} for order #{order}. Please fix this.",
        "Why did you charge me {amount} twice? Order number {order}.",
        "hello?? double charge on order {order}, {amount} taken two times!!",
    ],
    "shipping": [
        "Where is my package? Order #{order} was supposed to arrive on {day}.",
        "Order {order} still hasn't arrived. It was due {day}. Any update?",
        "Hi, tracking for #{order} hasn't moved since {day}. Is it lost?",
    ],
    "account": [
        "I can't log in to my account. The password reset email never arrives ({email}).",
        "Locked out of my account, reset link not coming to {email}. Help please.",
        "Hi, I changed phones and now I can't sign in. My email is {email}.",
    ],
    "returns": [
        "I'd like to return the {item} from order #{order}, it doesn't fit.",
        "The {item} I got in order {order} is damaged. How do I send it back?",
        "Can I still return my {item}? Order #{order}, bought three weeks ago.",
    ],
}

ACTIONS = {
    "billing": [
        "I'm sorry you were charged twice for order #{order}.",
        "I have refunded the duplicate charge of {amount}.",
        "It will show on your statement within 5 business days.",
    ],
    "shipping": [
        "Thanks for your patience with order #{order}.",
        "It left our warehouse on {day} and is now with {carrier}, tracking number {tracking}.",
        "It should arrive within 2 business days.",
    ],
    "account": [
        "Sorry about the trouble signing in.",
        "I have sent a new password reset link to {email}.",
        "Please check your spam folder; the link is valid for 24 hours.",
    ],
    "returns": [
        "No problem, you can return the {item} from order #{order}.",
        "I have emailed you a prepaid return label.",
        "Once we receive it, your refund of {amount} is issued within 3 days.",
    ],
}

GENERIC = "Thanks for reaching out! We are looking into your request and will get back to you soon."
UPSELL = "By the way, our spring sale starts next week with 20% off everything. Is there anything else I can help you with?"

HOSTILE = [
    ("html", lambda text: "<b>Good news:</b> " + text),
    ("img-onerror", lambda text: text + ' <img src=x onerror=alert(1)>'),
    ("script", lambda text: "<script>alert(1)</script>" + text),
    ("markup-link", lambda text: text + ' <a href="javascript:alert(document.cookie)">Click here</a> for <i>details</i>.'),
    ("arabic", lambda text: text + " شكراً لتواصلك معنا. سنرد عليك قريباً."),
    ("hebrew", lambda text: "תודה על פנייתך! " + text),
    ("rtl-mixed", lambda text: text + " رقم الطلب: \u202e#98765\u202c"),
    ("zero-width", lambda text: text.replace("Hi ", "Hi\u200b ", 1).replace("order", "or\u200bder")),
    ("zero-width-only", lambda text: text.replace(" ", " \u200b", 3)),
    ("long", lambda text: " ".join([text] * (20000 // max(len(text), 1) + 1))),
    ("emoji", lambda text: text + " Happy to help! 😊📦✨"),
    ("emoji-flags", lambda text: "🇩🇪🇫🇷 " + text + " 👍🏽👩‍💻"),
]


def compose(channel: str, name: str | None, sentences: list[str]) -> str:
    body = " ".join(sentences)
    if channel == "email":
        greeting = f"Hi {name},\n\n" if name else ""
        return f"{greeting}{body}\n\nBest regards,\nSam, Customer Support"
    return f"Hi {name}! {body}" if name else body


def build_support_replies() -> tuple[list, list, list]:
    rng = random.Random(SEED)
    n = 1000
    hostile_at = dict(zip(rng.sample(range(n), len(HOSTILE)), HOSTILE))
    hostile_inputs = {7: "<script>alert('hi')</script> my order #{order} never came",
                      8: "طلبي رقم {order} لم يصل بعد. أين هو؟",
                      9: "Where is order {order}??? 😡😡😡"}
    missing = [i for i in rng.sample(range(n), 20) if i not in hostile_at and i not in hostile_inputs][:5]
    only_candidate, only_baseline = set(missing[:3]), set(missing[3:])
    samples, base_rows, cand_rows = [], [], []
    for i in range(n):
        sid = f"reply-{i + 1:04d}"
        topic = rng.choice(list(MESSAGES))
        channel = rng.choice(["email", "chat"])
        slots = {
            "name": rng.choice(NAMES),
            "order": str(rng.randint(10000, 99999)),
            "amount": f"${rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
            "day": rng.choice(DAYS),
            "carrier": rng.choice(CARRIERS),
            "tracking": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(12)),
            "item": rng.choice(ITEMS),
        }
        slots["email"] = f"{slots['name'].lower()}.{rng.randint(1, 99)}@example.net"
        template = hostile_inputs.get(i) or rng.choice(MESSAGES[topic])
        message = template.format(**slots)
        actions = [s.format(**slots) for s in ACTIONS[topic]]
        reference = compose(channel, slots["name"], actions)

        wrong = dict(slots, order=str(int(slots["order"]) + rng.randint(1, 900)), amount=f"${rng.randint(5, 400)}.00")
        # Each way a model replies, as (greeting name or None, sentences).
        variants = {
            "ideal": (slots["name"], actions),
            "vague": (slots["name"], [actions[0], GENERIC]),
            "wrong_detail": (slots["name"], [s.format(**wrong) for s in ACTIONS[topic]]),
            "verbose": (slots["name"], actions + [UPSELL]),
            "generic": (None, [GENERIC]),
            "no_greeting": (None, actions[1:]),
            "partial": (slots["name"], actions[:2]),
        }
        base_kind = rng.choices(list(variants), weights=[20, 25, 15, 15, 10, 5, 10])[0]
        baseline = compose(channel, *variants[base_kind])

        if i in hostile_at:
            candidate = hostile_at[i][1](baseline)
        elif rng.random() < 0.70:
            candidate = baseline                                   # most outputs do not change
        elif rng.random() < 0.12:
            # The same sentences in another order: a different text with the same token F1,
            # so no score says which is better ("changed"); a single sentence gets a trailing space.
            name, sentences = variants[base_kind]
            candidate = compose(channel, name, sentences[1:] + sentences[:1]) if len(sentences) > 1 else baseline + " "
        else:
            cand_kind = rng.choices(list(variants), weights=[45, 10, 5, 20, 5, 5, 10])[0]
            candidate = compose(channel, *variants[cand_kind])

        samples.append({"id": sid, "input": message, "reference": reference, "channel": channel, "topic": topic})
        if i not in only_candidate:
            base_rows.append({"id": sid, "output": baseline, "score": token_f1(baseline, reference)})
        if i not in only_baseline:
            cand_rows.append({"id": sid, "output": candidate, "score": token_f1(candidate, reference)})
    return samples, base_rows, cand_rows


# ---------------------------------------------------------------- 3. invoice-extraction (json)

VENDORS = {
    "en": ["Northwind Traders Ltd", "Blue Harbor Supplies Inc.", "Kestrel Office Co.", "Greenfield Farms LLC",
           "Atlas Print & Copy Ltd"],
    "de": ["Müller Werkzeuge GmbH", "Bäckerei Schneider KG", "Rheinblick Logistik AG", "Hoffmann & Söhne GmbH",
           "Alpenglühen Reisen GmbH"],
    "fr": ["Boulangerie Martin SARL", "Éditions du Lac SA", "Transports Lefèvre SAS", "Café des Arts SARL",
           "Atelier Dubois & Fils"],
}
CURRENCIES = {"en": ["USD", "GBP"], "de": ["EUR", "CHF"], "fr": ["EUR"]}
SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CHF": "CHF"}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
}
WORDS = {
    "en": {"invoice": "INVOICE", "no": "Invoice no.", "date": "Date", "total": "Total due", "sub": "Subtotal",
           "tax": "Sales tax", "item": "Item", "qty": "Qty", "price": "Amount", "bill": "Bill to"},
    "de": {"invoice": "RECHNUNG", "no": "Rechnungsnr.", "date": "Rechnungsdatum", "total": "Gesamtbetrag",
           "sub": "Zwischensumme", "tax": "MwSt. 19%", "item": "Position", "qty": "Menge", "price": "Betrag",
           "bill": "Kunde"},
    "fr": {"invoice": "FACTURE", "no": "Facture n°", "date": "Date", "total": "Total TTC", "sub": "Total HT",
           "tax": "TVA 20%", "item": "Désignation", "qty": "Qté", "price": "Montant", "bill": "Client"},
}
PRODUCTS = ["Consulting hours", "Printer paper A4", "Shipping", "Maintenance", "Licence fee", "Catering",
            "Workshop", "Spare parts"]
TAX = {"en": 0.08, "de": 0.19, "fr": 0.20}


def money(value: float, lang: str) -> str:
    text = f"{value:,.2f}"
    if lang == "de":
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    if lang == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def date_text(y: int, m: int, d: int, lang: str, rng: random.Random) -> str:
    if lang == "de":
        return f"{d:02d}.{m:02d}.{y}"
    if lang == "fr":
        return rng.choice([f"{d} {MONTHS['fr'][m - 1]} {y}", f"{d:02d}/{m:02d}/{y}"])
    return rng.choice([f"{MONTHS['en'][m - 1]} {d}, {y}", f"{m:02d}/{d:02d}/{y}"])


def invoice_text(inv: dict, lang: str, layout: str, rng: random.Random) -> str:
    w = WORDS[lang]
    cur = inv["currency"]
    head = [inv["vendor"], f"{w['invoice']}", f"{w['no']} {inv['number']}", f"{w['date']}: {inv['date_text']}",
            f"{w['bill']}: {inv['customer']}"]
    if layout == "simple":
        lines = head + [f"{w['total']}: {money(inv['total'], lang)} {cur}"]
        return "\n".join(lines)
    rows = [f"| {w['item']:<20} | {w['qty']:>4} | {w['price']:>12} |", f"|{'-' * 22}|{'-' * 6}|{'-' * 14}|"]
    for name, qty, amount in inv["lines"]:
        rows.append(f"| {name:<20} | {qty:>4} | {money(amount, lang):>12} |")
    rows += [f"{w['sub']}: {money(inv['subtotal'], lang)} {SYMBOLS[cur]}",
             f"{w['tax']}: {money(inv['tax'], lang)} {SYMBOLS[cur]}",
             f"{w['total']}: {money(inv['total'], lang)} {SYMBOLS[cur]}"]
    return "\n".join(head + [""] + rows)


def extract(inv: dict, lang: str, layout: str, errors: dict[str, float], rng: random.Random) -> dict:
    """What a (flawed) extraction model returns for an invoice."""
    out = {"vendor": inv["vendor"], "date": inv["date"], "total": inv["total"], "currency": inv["currency"]}
    if rng.random() < errors.get("date", 0):
        out["date"] = inv["date_text"]                                  # not normalised to ISO
    if lang != "en" and rng.random() < errors.get("locale", 0):
        # The decimal comma misread as a thousands separator: "1.234,50" -> 1.2345, "1 234,50" -> 123450.0
        out["total"] = float(money(inv["total"], lang).replace("\u202f", "").replace(",", ""))
    if layout == "table" and rng.random() < errors.get("subtotal", 0):
        out["total"] = inv["subtotal"]
    if rng.random() < errors.get("symbol", 0):
        out["currency"] = SYMBOLS[inv["currency"]]
    if rng.random() < errors.get("vendor", 0):
        out["vendor"] = re.sub(r"\s+(GmbH|KG|AG|SARL|SA|SAS|Ltd|Inc\.|Co\.|LLC|& Fils|& Söhne GmbH)$", "", inv["vendor"])
    return out


BASELINE_ERRORS = {"date": 0.10, "locale": 0.25, "subtotal": 0.25, "symbol": 0.08, "vendor": 0.03}
CANDIDATE_ERRORS = {"date": 0.03, "locale": 0.06, "subtotal": 0.10, "symbol": 0.03, "vendor": 0.10}


def reformat(obj: dict, rng: random.Random) -> str:
    """The same JSON object as another text: key order or whitespace."""
    style = rng.choice(["indent", "reorder", "compact"])
    if style == "indent":
        return json.dumps(obj, ensure_ascii=False, indent=2)
    if style == "reorder":
        return json.dumps(dict(reversed(list(obj.items()))), ensure_ascii=False)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def build_invoices() -> tuple[list, list, list]:
    rng = random.Random(SEED + 3)
    n = 800
    samples, base_rows, cand_rows = [], [], []
    for i in range(n):
        sid = f"inv-{i + 1:04d}"
        lang = rng.choice(["en", "de", "fr"])
        layout = rng.choice(["simple", "table"])
        y, m, d = 2024, rng.randint(1, 12), rng.randint(1, 28)
        lines = [(rng.choice(PRODUCTS), rng.randint(1, 12), round(rng.uniform(5, 2500), 2))
                 for _ in range(rng.randint(1, 4))]
        subtotal = round(sum(a for _, _, a in lines), 2)
        tax = round(subtotal * TAX[lang], 2)
        inv = {
            "vendor": rng.choice(VENDORS[lang]),
            "number": f"{rng.choice(['INV', 'RE', 'F'])}-{y}-{rng.randint(100, 9999):04d}",
            "date": f"{y}-{m:02d}-{d:02d}",
            "date_text": date_text(y, m, d, lang, rng),
            "customer": rng.choice(["ACME Corp", "Globex GmbH", "Initech SAS", "Umbrella Ltd", "Stark Industries"]),
            "currency": rng.choice(CURRENCIES[lang]),
            "lines": lines,
            "subtotal": subtotal,
            "tax": tax,
            "total": round(subtotal + tax, 2),
        }
        reference = {"vendor": inv["vendor"], "date": inv["date"], "total": inv["total"], "currency": inv["currency"]}
        base_obj = extract(inv, lang, layout, BASELINE_ERRORS, rng)
        baseline = json.dumps(base_obj, ensure_ascii=False)
        r = rng.random()
        if r < 0.55:
            candidate = baseline                                    # the very same text
        elif r < 0.70:
            candidate = reformat(base_obj, rng)                     # same object, other text: unchanged
        elif r < 0.72:
            candidate = "```json\n" + json.dumps(reference, ensure_ascii=False, indent=2) + "\n```"  # not JSON
        elif r < 0.73:
            candidate = json.dumps(reference, ensure_ascii=False)[:-9]   # cut off: not JSON
        else:
            cand_obj = extract(inv, lang, layout, CANDIDATE_ERRORS, rng)
            candidate = reformat(cand_obj, rng) if rng.random() < 0.3 else json.dumps(cand_obj, ensure_ascii=False)
        samples.append({"id": sid, "input": invoice_text(inv, lang, layout, rng), "reference": reference,
                        "language": lang, "layout": layout})
        base_rows.append({"id": sid, "output": baseline})
        cand_rows.append({"id": sid, "output": candidate})
    return samples, base_rows, cand_rows


# ---------------------------------------------------------------- 4. digit-denoise (image)

def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def upscale(image8: np.ndarray) -> np.ndarray:
    small = Image.fromarray(np.round(image8 * 255 / 16).astype(np.uint8), mode="L")
    return np.asarray(small.resize((32, 32), Image.Resampling.BICUBIC), dtype=np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
    return 99.0 if mse == 0 else round(10 * math.log10(255.0 ** 2 / mse), 2)


def build_denoise() -> tuple[list, list, list, list]:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    rng = np.random.default_rng(SEED + 4)
    order = rng.permutation(len(digits.target))
    eval_idx, train_idx = np.sort(order[:120]), order[120:]
    clean_train = np.stack([upscale(digits.images[i]) for i in train_idx]).reshape(len(train_idx), -1) / 255.0
    pca_small = PCA(n_components=12, random_state=SEED).fit(clean_train)
    pca_large = PCA(n_components=100, random_state=SEED).fit(clean_train)

    samples, base_rows, cand_rows, blobs = [], [], [], []
    for n, i in enumerate(eval_idx):
        sid = f"img-{i:04d}"
        level = "low" if n % 2 == 0 else "high"
        clean = upscale(digits.images[i])
        noisy = np.clip(np.round(clean + rng.normal(0, 25 if level == "low" else 80, clean.shape)), 0, 255).astype(np.uint8)
        outs = {}
        for side, pca in (("baseline", pca_small), ("candidate", pca_large)):
            flat = noisy.reshape(1, -1) / 255.0
            restored = pca.inverse_transform(pca.transform(flat)).reshape(32, 32)
            outs[side] = np.clip(np.round(restored * 255), 0, 255).astype(np.uint8)
        samples.append({"id": sid, "input": f"images/inputs/{sid}.png", "reference": f"images/references/{sid}.png",
                        "noise": level})
        base_rows.append({"id": sid, "output": f"images/outputs/{sid}.png", "score": psnr(outs["baseline"], clean)})
        cand_rows.append({"id": sid, "output": f"images/outputs/{sid}.png", "score": psnr(outs["candidate"], clean)})
        for kind, pixels in (("input", noisy), ("reference", clean), ("baseline", outs["baseline"]),
                             ("candidate", outs["candidate"])):
            blobs.append({"id": sid, "kind": kind, "png": png(pixels)})
    return samples, base_rows, cand_rows, blobs


# ---------------------------------------------------------------- truth: PRODUCT.md's definitions, plainly

def _json_value(text):
    """(True, value) for JSON text, (False, text) for anything else."""
    if isinstance(text, (dict, list)):
        return True, text
    try:
        return True, json.loads(text)
    except (TypeError, ValueError):
        return False, text


def same_output(kind: str, a, b) -> bool:
    if kind == "json":
        return _json_value(a) == _json_value(b)     # parsed and compared as objects; else as text
    if kind == "label":
        return str(a).strip() == str(b).strip()
    return a == b                                   # text: exact string; image: identical bytes


def expected_counts(kind: str, samples: list, base: list, cand: list, image_bytes=None) -> dict:
    refs = {s["id"]: s.get("reference") for s in samples}
    b = {p["id"]: p for p in base}
    c = {p["id"]: p for p in cand}
    counts = dict.fromkeys(CLASSES, 0)
    for sid in set(refs) | set(b) | set(c):
        if sid not in refs or sid not in b or sid not in c:
            counts["missing"] += 1
            continue
        if kind == "image":
            bo, co = image_bytes[(sid, "baseline")], image_bytes[(sid, "candidate")]
            ref = image_bytes.get((sid, "reference"))
        else:
            bo, co, ref = b[sid]["output"], c[sid]["output"], refs[sid]
        if same_output(kind, bo, co):
            counts["unchanged"] += 1
            continue
        scores = []
        for pred, out in ((b[sid], bo), (c[sid], co)):
            if pred.get("score") is not None:
                scores.append(float(pred["score"]))
            elif ref is not None:
                scores.append(1.0 if same_output(kind, out, ref) else 0.0)
            else:
                scores.append(None)
        bs, cs = scores
        if bs is None or cs is None or bs == cs:
            counts["changed"] += 1
        elif cs > bs:
            counts["improved"] += 1
        else:
            counts["regressed"] += 1
    return counts


# ---------------------------------------------------------------- main

def main() -> None:
    truth = {}
    sets = {
        "digits": ("label", build_digits()),
        "support-replies": ("text", build_support_replies()),
        "invoice-extraction": ("json", build_invoices()),
    }
    for name, (kind, (samples, base, cand)) in sets.items():
        write_jsonl(OUT / name / "samples.jsonl", samples)
        write_jsonl(OUT / name / "baseline.jsonl", base)
        write_jsonl(OUT / name / "candidate.jsonl", cand)
        truth[name] = expected_counts(kind, samples, base, cand)

    samples, base, cand, blobs = build_denoise()
    name = "digit-denoise"
    write_jsonl(OUT / name / "samples.jsonl", samples)
    write_jsonl(OUT / name / "baseline.jsonl", base)
    write_jsonl(OUT / name / "candidate.jsonl", cand)
    table = pa.table({"id": [r["id"] for r in blobs], "kind": [r["kind"] for r in blobs],
                      "png": pa.array([r["png"] for r in blobs], type=pa.binary())})
    pq.write_table(table, OUT / name / "images.parquet", compression="none")
    image_bytes = {(r["id"], r["kind"]): r["png"] for r in blobs}
    truth[name] = expected_counts("image", samples, base, cand, image_bytes)

    (OUT / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(json.dumps(truth, indent=2))
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
