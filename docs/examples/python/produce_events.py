#!/usr/bin/python3
"""Publish product events to Lookalike's catalog.product-events topic from Python (librdkafka).

Reads events in the webhook's JSON shape, one per line (blank lines and '#' comments skipped), from a
file or stdin, and produces each with key = productId. Any partitioner will do: the fetcher re-keys and
repartitions by productId itself (docs/producing.md).

  --encoding json   the line as is, UTF-8 JSON (the default; no schema needed)
  --encoding avro   Avro single-object encoding: C3 01, the CRC-64-AVRO fingerprint of the writer
                    schema's canonical form (8 bytes, little-endian), then the binary datum; needs
                    python3-avro and the three .avsc files (--schemas), parsed together

Debian: apt-get install -y --no-install-recommends python3-confluent-kafka python3-avro
  /usr/bin/python3 docs/examples/python/produce_events.py --bootstrap-servers 127.0.0.1:9092 events.jsonl
"""
import argparse
import datetime
import io
import json
import struct
import sys

# The three files must be parsed together, shared types first: ProductEvent refers to the others by name.
SCHEMA_FILES = ["ProductMetadata.avsc", "ImageRef.avsc", "ProductEvent.avsc"]


def crc64_avro(data):
    """The 64-bit Rabin fingerprint of the Avro specification ("CRC-64-AVRO")."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


class AvroSingleObject:
    def __init__(self, schema_dir):
        import avro.io
        import avro.schema
        names = avro.schema.Names()
        schema = None
        for name in SCHEMA_FILES:
            with open(f"{schema_dir}/{name}") as f:
                schema = avro.schema.make_avsc_object(json.load(f), names)
        self.writer = avro.io.DatumWriter(schema)
        self.encoder_type = avro.io.BinaryEncoder
        # python3-avro 1.11 keeps {"type":"long"} for timestamp-millis in its canonical form, so this
        # fingerprint differs from Java's for the same schema; Lookalike accepts both.
        fingerprint = crc64_avro(schema.canonical_form.encode("utf-8"))
        self.header = b"\xc3\x01" + struct.pack("<Q", fingerprint)

    def encode(self, event):
        datum = dict(event)
        datum.setdefault("type", "UPSERT")
        datum.setdefault("eventId", f"{datum['productId']}:{datum['version']}")
        occurred = datum.get("occurredAt")
        if isinstance(occurred, (int, float)):
            occurred = datetime.datetime.fromtimestamp(occurred / 1000, tz=datetime.timezone.utc)
        elif isinstance(occurred, str):
            occurred = datetime.datetime.fromisoformat(occurred.replace("Z", "+00:00"))
        datum["occurredAt"] = occurred
        product = datum.get("product")
        if product is not None:
            product = {"title": None, "brand": None, "category": None, "price": None,
                       "availability": "UNKNOWN", "attributes": {}, **product}
        datum["product"] = product
        datum["images"] = [{"position": i, **image} for i, image in enumerate(datum.get("images", []))]
        out = io.BytesIO()
        out.write(self.header)
        self.writer.write(datum, self.encoder_type(out))
        return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--dump", action="store_true",
                        help="print each encoded value in hex instead of producing it (no Kafka needed)")
    parser.add_argument("--topic", default="catalog.product-events")
    parser.add_argument("--encoding", choices=["json", "avro"], default="json")
    parser.add_argument("--schemas", default="schemas/src/main/avro", help="directory of the .avsc files")
    parser.add_argument("events", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    args = parser.parse_args()

    avro_encoder = AvroSingleObject(args.schemas) if args.encoding == "avro" else None
    source = sys.stdin if args.events == "-" else open(args.events)
    if args.dump:
        for line in source:
            line = line.strip()
            if line and not line.startswith("#"):
                print((avro_encoder.encode(json.loads(line)) if avro_encoder else line.encode("utf-8")).hex())
        return
    if not args.bootstrap_servers:
        parser.error("--bootstrap-servers is required (or --dump)")
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": args.bootstrap_servers, "acks": "all",
                         "enable.idempotence": True, "message.timeout.ms": 30000})
    failures = []

    def delivered(err, msg):
        if err is not None:
            failures.append(str(err))
        else:
            print(f"{msg.key().decode()} -> partition {msg.partition()} offset {msg.offset()}")

    count = 0
    for line in source:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        event = json.loads(line)
        value = avro_encoder.encode(event) if avro_encoder else line.encode("utf-8")
        producer.produce(args.topic, key=event["productId"].encode("utf-8"), value=value, callback=delivered)
        producer.poll(0)
        count += 1
    remaining = producer.flush(30)
    if failures or remaining:
        sys.exit(f"{len(failures) + remaining} of {count} events not delivered: {failures[:3]}")
    print(f"{count} events published to {args.topic}", file=sys.stderr)


if __name__ == "__main__":
    main()
