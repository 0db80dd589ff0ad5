package io.dubhub.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Small readings of provider answers and links that every provider adapter needs alike. */
public final class ProviderJson {

    private static final ObjectMapper READER = new ObjectMapper();

    private ProviderJson() {
    }

    /** A scalar field as text; null when absent, JSON null, or not a scalar. */
    public static String text(JsonNode node, String field) {
        JsonNode n = node == null ? null : node.get(field);
        return n == null || n.isNull() || !n.isValueNode() ? null : n.asText();
    }

    /** A scalar field of a JSON document kept as text (the ledger's detail columns). */
    public static String jsonField(String jsonText, String field) {
        if (jsonText == null) {
            return null;
        }
        try {
            return text(READER.readTree(jsonText), field);
        } catch (IOException e) {
            return null;
        }
    }

    /** The file extension of a link's path (lower case, at most 5 characters), or null. */
    public static String extensionOf(URI url) {
        String path = url.getPath();
        if (path == null) {
            return null;
        }
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        if (dot <= slash || path.length() - dot > 6) {
            return null;
        }
        return path.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** One path segment or query value, %20 for spaces as the providers' APIs expect. */
    public static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** base + path without a doubled slash. */
    public static URI join(String base, String path) {
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
    }
}
