package io.dubhub.http;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Where the hub may send credentials, media links and job data: https anywhere, plain http only
 * to a loopback address (the sandbox and tests, where hub and simulator share one machine).
 * Applies to provider APIs, links handed to providers, and notification webhooks.
 */
public final class UrlPolicy {

    private UrlPolicy() {
    }

    public static boolean httpsOrLoopback(URI url) {
        if (url == null) {
            return false;
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            return url.getHost() != null;
        }
        return scheme.equals("http") && isLoopback(url.getHost());
    }

    /** Same rule for a configured URL; a value that is not a URL at all fails it too. */
    public static boolean httpsOrLoopback(String url) {
        try {
            return url != null && httpsOrLoopback(URI.create(url.trim()));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) {
            return false;
        }
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        // Only literal addresses: a name is not resolved here, so a DNS answer cannot turn a public name into "loopback".
        if (!h.matches("[0-9.]+") && !h.contains(":")) {
            return false;
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** "why not" in words an operator can act on. */
    public static String rule(String setting, String value) {
        return setting + " must be an https URL (plain http only to localhost/127.0.0.1), not '" + UrlRedactor.redact(value) + "'";
    }
}
