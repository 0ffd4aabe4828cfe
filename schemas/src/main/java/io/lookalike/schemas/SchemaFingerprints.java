package io.lookalike.schemas;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * The 64-bit fingerprints by which Avro's single-object encoding names a writer schema: CRC-64-AVRO
 * of the schema's Parsing Canonical Form, stored little-endian in bytes 2–9 of each record after
 * {@code C3 01}.
 *
 * <p>Avro implementations disagree on that form for logical types: Java drops the logical type
 * ({@code "type":"long"}), python3-avro 1.11 keeps the primitive as an object ({@code
 * "type":{"type":"long"}}), so the same {@code .avsc} gets two fingerprints. {@link AvroSerde}
 * reads both.
 */
public final class SchemaFingerprints {

  private SchemaFingerprints() {}

  /** Java Avro's fingerprint (the specification's Parsing Canonical Form). */
  public static long java(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /**
   * python3-avro 1.11's fingerprint: its canonical form keeps {@code {"type":"long"}} for logical
   * types.
   */
  public static long python(Schema schema) {
    return SchemaNormalization.fingerprint64(
        pythonCanonicalForm(schema).getBytes(StandardCharsets.UTF_8));
  }

  /** The fingerprints that name {@code schema}, by who computes them that way. */
  public static Map<String, Long> all(Schema schema) {
    Map<String, Long> out = new LinkedHashMap<>();
    out.put("Java", java(schema));
    out.put("python3-avro 1.11", python(schema));
    return out;
  }

  /** A fingerprint as written in docs and dead letters: 16 hex digits of the unsigned value. */
  public static String hex(long fingerprint) {
    return String.format("%016x", fingerprint);
  }

  /**
   * The canonical form as python3-avro 1.11 writes it (Java's {@link
   * SchemaNormalization#toParsingForm} but for logical types).
   */
  public static String pythonCanonicalForm(Schema schema) {
    StringBuilder out = new StringBuilder();
    build(new HashMap<>(), schema, out);
    return out.toString();
  }

  private static void build(Map<String, String> seen, Schema s, StringBuilder o) {
    Schema.Type type = s.getType();
    switch (type) {
      case UNION -> {
        o.append('[');
        for (int i = 0; i < s.getTypes().size(); i++) {
          if (i > 0) {
            o.append(',');
          }
          build(seen, s.getTypes().get(i), o);
        }
        o.append(']');
      }
      case ARRAY -> {
        o.append("{\"type\":\"array\",\"items\":");
        build(seen, s.getElementType(), o);
        o.append('}');
      }
      case MAP -> {
        o.append("{\"type\":\"map\",\"values\":");
        build(seen, s.getValueType(), o);
        o.append('}');
      }
      case ENUM, FIXED, RECORD -> {
        String name = s.getFullName();
        if (seen.containsKey(name)) {
          o.append(seen.get(name));
          return;
        }
        String quoted = "\"" + name + "\"";
        seen.put(name, quoted);
        o.append("{\"name\":")
            .append(quoted)
            .append(",\"type\":\"")
            .append(type.getName())
            .append('"');
        if (type == Schema.Type.ENUM) {
          o.append(",\"symbols\":[");
          for (int i = 0; i < s.getEnumSymbols().size(); i++) {
            o.append(i > 0 ? "," : "").append('"').append(s.getEnumSymbols().get(i)).append('"');
          }
          o.append(']');
        } else if (type == Schema.Type.FIXED) {
          o.append(",\"size\":").append(s.getFixedSize());
        } else {
          o.append(",\"fields\":[");
          for (int i = 0; i < s.getFields().size(); i++) {
            Schema.Field f = s.getFields().get(i);
            o.append(i > 0 ? "," : "")
                .append("{\"name\":\"")
                .append(f.name())
                .append("\",\"type\":");
            build(seen, f.schema(), o);
            o.append('}');
          }
          o.append(']');
        }
        o.append('}');
      }
      default -> {
        // The one difference: a primitive carrying a logical type stays an object.
        if (s.getLogicalType() != null || s.getProp("logicalType") != null) {
          o.append("{\"type\":\"").append(type.getName()).append("\"}");
        } else {
          o.append('"').append(type.getName()).append('"');
        }
      }
    }
  }
}
