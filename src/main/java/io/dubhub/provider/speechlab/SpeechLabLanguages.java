package io.dubhub.provider.speechlab;

import io.dubhub.intake.Languages;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * BCP-47 to SpeechLab's language codes. SpeechLab writes plain ISO 639-1 codes (en, zh) and
 * regional variants with an underscore (es_la in the API guide). ASSUMPTION: the guide shows only
 * en, es_la and zh; the rest of this table is our reading of SpeechLab's UI list and must be
 * checked against a real account's language list before production use.
 */
public final class SpeechLabLanguages {

    /** Exact BCP-47 tags (lower case) with a regional SpeechLab code. */
    private static final Map<String, String> REGIONAL = new LinkedHashMap<>();

    /** SpeechLab codes taken from the primary subtag alone. */
    static final List<String> PLAIN = List.of("en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar",
            "hi", "ja", "ko", "zh", "id", "vi", "th", "sv", "da", "fi", "no", "cs", "ro", "hu", "el", "he", "ms", "ta", "tl");

    static {
        REGIONAL.put("es-419", "es_la");
        REGIONAL.put("es-mx", "es_la");
        REGIONAL.put("es-us", "es_la");
        REGIONAL.put("es-ar", "es_la");
        REGIONAL.put("es-co", "es_la");
        REGIONAL.put("es-es", "es");
        REGIONAL.put("pt-br", "pt_br");
        REGIONAL.put("pt-pt", "pt");
        REGIONAL.put("fr-ca", "fr_ca");
        REGIONAL.put("fr-fr", "fr");
        REGIONAL.put("en-us", "en");
        REGIONAL.put("en-gb", "en");
        REGIONAL.put("zh-hans", "zh");
        REGIONAL.put("zh-cn", "zh");
        REGIONAL.put("nb", "no");
    }

    private SpeechLabLanguages() {
    }

    /** What validate() tells an operator is allowed. */
    public static List<String> supported() {
        List<String> out = new java.util.ArrayList<>(PLAIN);
        out.addAll(List.of("es-419 (es_la)", "pt-BR (pt_br)", "fr-CA (fr_ca)"));
        return out;
    }

    public static Optional<String> toSpeechLab(String bcp47) {
        if (bcp47 == null) {
            return Optional.empty();
        }
        String tag = bcp47.toLowerCase(Locale.ROOT);
        String regional = REGIONAL.get(tag);
        if (regional != null) {
            return Optional.of(regional);
        }
        if (tag.indexOf('-') < 0 && PLAIN.contains(tag)) {
            return Optional.of(tag);
        }
        // a region we have no variant for (de-AT, it-CH) is dubbed in the base language, except where
        // SpeechLab has variants (es, pt, fr, zh): there we refuse instead of guessing the variant
        String primary = Languages.primary(tag);
        boolean hasVariants = REGIONAL.keySet().stream().anyMatch(k -> k.startsWith(primary + "-"));
        if (!hasVariants && PLAIN.contains(primary)) {
            return Optional.of(primary);
        }
        return Optional.empty();
    }
}
