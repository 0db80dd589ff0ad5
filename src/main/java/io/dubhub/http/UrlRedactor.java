package io.dubhub.http;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Presigned URLs are bearer credentials: anyone holding one can read or write the object.
 * Every URL that reaches a log line, an error.json or the job API goes through here first.
 */
public final class UrlRedactor {

    /** Query parameters that carry a signature or a credential (S3 SigV2/SigV4, Azure SAS, ours). */
    private static final Set<String> SECRET_PARAMS = Set.of(
            "x-amz-signature", "signature", "x-amz-credential", "x-amz-security-token", "awsaccesskeyid",
            "sig", "token", "x-sim-signature", "apikey", "api_key", "key", "access_token");

    /** Path-borne bearer tokens: the hub's own staged links ({public-base-url}/staged/{token}). */
    private static final Pattern PATH_TOKEN = Pattern.compile("(/staged/)[^/?#]+");

    private static final Pattern PARAM = Pattern.compile("([?&])([^=&#]+)=([^&#]*)");

    private UrlRedactor() {
    }

    public static String redact(Object url) {
        if (url == null) {
            return null;
        }
        String text = PATH_TOKEN.matcher(url.toString()).replaceAll("$1REDACTED");
        Matcher m = PARAM.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(2);
            String value = SECRET_PARAMS.contains(name.toLowerCase(Locale.ROOT)) ? "REDACTED" : m.group(3);
            m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + name + "=" + value));
        }
        m.appendTail(out);
        return out.toString();
    }
}
