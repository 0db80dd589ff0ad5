package io.dubhub.intake;

import java.security.SecureRandom;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Job ids sort by time and are short enough to read out on a call: j-20261123-101502-k3x9q2.
 * They travel to providers inside names and titles, so they use only [a-z0-9-].
 */
public final class JobIds {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    private static final char[] ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

    private JobIds() {
    }

    public static String next() {
        StringBuilder sb = new StringBuilder("j-").append(ZonedDateTime.now(ZoneOffset.UTC).format(FORMAT)).append('-');
        for (int i = 0; i < 6; i++) {
            sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }
}
