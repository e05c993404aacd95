"""A small realistic program for `make demo`: it parses a day of orders, computes a report,
waits on a (simulated) network call, and checks data in a worker thread."""

import csv
import io
import json
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Dict, List

SKU = re.compile(r"^(?P<family>[A-Z]{3})-(?P<number>\d{4})$")


@dataclass
class Order:
    order_id: int
    sku: str
    quantity: int
    unit_price: float
    note: str

    @property
    def total(self) -> float:
        return self.quantity * self.unit_price


def generate_csv(rows: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "sku", "quantity", "unit_price", "meta"])
    for i in range(rows):
        family = rng.choice(["ABC", "XYZ", "QRS", "LMN"])
        meta = json.dumps({"note": "gift" if rng.random() < 0.1 else "", "tags": [rng.randint(0, 9)] * 3})
        writer.writerow([i, f"{family}-{rng.randint(0, 9999):04d}", rng.randint(1, 5), round(rng.uniform(1, 90), 2), meta])
    return out.getvalue()


class OrderParser:
    def parse(self, text: str) -> List[Order]:
        orders = []
        for row in csv.DictReader(io.StringIO(text)):
            if not SKU.match(row["sku"]):
                continue
            meta = json.loads(row["meta"])
            orders.append(Order(int(row["order_id"]), row["sku"], int(row["quantity"]), float(row["unit_price"]), meta["note"]))
        return orders


class Report:
    def __init__(self, orders: List[Order]) -> None:
        self.orders = orders

    def revenue_by_family(self) -> Dict[str, float]:
        revenue: Dict[str, float] = {}
        for order in self.orders:
            family = SKU.match(order.sku).group("family")
            revenue[family] = revenue.get(family, 0.0) + order.total
        return revenue

    def price_spread(self) -> Dict[str, float]:
        prices = sorted(o.unit_price for o in self.orders)
        return {"median": statistics.median(prices), "stdev": statistics.pstdev(prices)}


def fetch_exchange_rates() -> Dict[str, float]:
    time.sleep(0.25)  # stands in for a slow HTTP request
    return {"EUR": 0.92, "GBP": 0.79}


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def audit_order_ids(limit: int, result: List[int]) -> None:
    result.append(sum(1 for n in range(limit) if is_prime(n)))


def main() -> None:
    audit: List[int] = []
    auditor = threading.Thread(target=audit_order_ids, args=(120_000, audit), name="auditor")
    auditor.start()
    text = generate_csv(40_000)
    orders = OrderParser().parse(text)
    report = Report(orders)
    revenue = report.revenue_by_family()
    spread = report.price_spread()
    rates = fetch_exchange_rates()
    auditor.join()
    print(f"{len(orders)} orders, revenue {sum(revenue.values()) * rates['EUR']:.0f} EUR, "
          f"median price {spread['median']:.2f}, {audit[0]} prime ids")


if __name__ == "__main__":
    main()
