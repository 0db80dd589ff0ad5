package io.dubhub.provider.alugha;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * BCP-47 tags (the job spec) to alugha's langCode and back. The doc (section "Language codes"):
 * an ISO 639-3 code, optionally followed by a two-letter ISO 3166-1 country or a three-digit
 * UN M.49 region: German deu, American English eng-us, Latin American Spanish spa-419. So en-US
 * becomes eng-us and es-419 spa-419; a script subtag (zh-Hans) has no place in a langCode and is
 * refused rather than silently dropped, because Simplified and Traditional are not the same track.
 */
public final class AlughaLanguages {

    /** BCP-47 primary language → ISO 639-3. The languages the hub offers for alugha. */
    static final Map<String, String> ISO_639_3;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ar", "ara");
        m.put("bg", "bul");
        m.put("bn", "ben");
        m.put("ca", "cat");
        m.put("cs", "ces");
        m.put("da", "dan");
        m.put("de", "deu");
        m.put("el", "ell");
        m.put("en", "eng");
        m.put("es", "spa");
        m.put("et", "est");
        m.put("fa", "fas");
        m.put("fi", "fin");
        m.put("fil", "fil");
        m.put("fr", "fra");
        m.put("he", "heb");
        m.put("hi", "hin");
        m.put("hr", "hrv");
        m.put("hu", "hun");
        m.put("id", "ind");
        m.put("it", "ita");
        m.put("ja", "jpn");
        m.put("ko", "kor");
        m.put("lt", "lit");
        m.put("lv", "lav");
        m.put("ms", "msa");
        m.put("nb", "nob");
        m.put("nl", "nld");
        m.put("no", "nor");
        m.put("pl", "pol");
        m.put("pt", "por");
        m.put("ro", "ron");
        m.put("ru", "rus");
        m.put("sk", "slk");
        m.put("sl", "slv");
        m.put("sr", "srp");
        m.put("sv", "swe");
        m.put("sw", "swa");
        m.put("ta", "tam");
        m.put("th", "tha");
        m.put("tr", "tur");
        m.put("uk", "ukr");
        m.put("ur", "urd");
        m.put("vi", "vie");
        m.put("zh", "zho");
        ISO_639_3 = Collections.unmodifiableMap(m);
    }

    /** For error messages: every BCP-47 language the hub maps, with an example of a region. */
    public static final String SUPPORTED = String.join(", ", ISO_639_3.keySet())
            + " (each optionally with a country or UN M.49 region, e.g. en-US → eng-us, es-419 → spa-419)";

    private AlughaLanguages() {
    }

    /** The langCode for a canonical BCP-47 tag, or empty when alugha's codes cannot say it. */
    public static Optional<String> toAlugha(String tag) {
        if (tag == null || tag.isBlank()) {
            return Optional.empty();
        }
        Locale locale;
        try {
            locale = new Locale.Builder().setLanguageTag(tag).build();
        } catch (java.util.IllformedLocaleException e) {
            return Optional.empty();
        }
        String code = ISO_639_3.get(locale.getLanguage());
        if (code == null || !locale.getScript().isEmpty() || !locale.getVariant().isEmpty() || locale.hasExtensions()) {
            return Optional.empty();
        }
        String region = locale.getCountry();
        return Optional.of(region.isEmpty() ? code : code + "-" + region.toLowerCase(Locale.ROOT));
    }

    /** A BCP-47 tag for an alugha langCode (eng-us → en-US); the langCode itself when it is not in the table. */
    public static String toBcp47(String langCode) {
        if (langCode == null || langCode.isBlank()) {
            return "und";
        }
        String[] parts = langCode.trim().toLowerCase(Locale.ROOT).split("-", 2);
        for (Map.Entry<String, String> e : ISO_639_3.entrySet()) {
            if (e.getValue().equals(parts[0])) {
                if (parts.length == 1) {
                    return e.getKey();
                }
                String region = parts[1].matches("[a-z]{2}") ? parts[1].toUpperCase(Locale.ROOT) : parts[1];
                return e.getKey() + "-" + region;
            }
        }
        return langCode;
    }

    /**
     * Whether a track in {@code langCode} is the language {@code tag} asks for: the same code, or,
     * when the tag names no region, the same language in any region (es is met by spa-419).
     */
    public static boolean sameLanguage(String tag, String langCode) {
        Optional<String> wanted = toAlugha(tag);
        if (wanted.isEmpty() || langCode == null) {
            return false;
        }
        String have = langCode.trim().toLowerCase(Locale.ROOT);
        if (wanted.get().equals(have)) {
            return true;
        }
        return !wanted.get().contains("-") && have.startsWith(wanted.get() + "-");
    }

    static List<String> unsupported(List<String> tags) {
        List<String> out = new ArrayList<>();
        for (String t : tags) {
            if (toAlugha(t).isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }
}
