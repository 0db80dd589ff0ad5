package io.dubhub.intake;

import io.dubhub.job.JobRejectedException;
import io.dubhub.job.Stage;

import java.util.Arrays;
import java.util.IllformedLocaleException;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** BCP-47 checks shared by every provider; mapping to a provider's own codes is the provider's job. */
public final class Languages {

    private static final Set<String> ISO_639 = Arrays.stream(Locale.getISOLanguages()).collect(Collectors.toSet());

    private Languages() {
    }

    /**
     * The canonical form of a BCP-47 tag (es, pt-BR, zh-Hans, es-419), or a rejection naming
     * the key. Underscores (pt_BR) are a common slip and rejected with the right spelling.
     */
    public static String canonical(String tag, String key, String where) {
        String raw = tag == null ? "" : tag.trim();
        if (raw.contains("_")) {
            throw new JobRejectedException(Stage.SPEC, where + ": '" + key + "' value '" + raw
                    + "' is not a BCP-47 code; write it with a hyphen: '" + raw.replace('_', '-') + "'");
        }
        Locale locale;
        try {
            locale = new Locale.Builder().setLanguageTag(raw).build();
        } catch (IllformedLocaleException e) {
            throw new JobRejectedException(Stage.SPEC, where + ": '" + key + "' value '" + raw
                    + "' is not a BCP-47 language code (examples: en, es, pt-BR, zh-Hans)");
        }
        String language = locale.getLanguage();
        if (language.isEmpty() || (language.length() == 2 && !ISO_639.contains(language))) {
            throw new JobRejectedException(Stage.SPEC, where + ": '" + key + "' value '" + raw
                    + "' is not a known language code (examples: en, es, pt-BR, zh-Hans)");
        }
        return locale.toLanguageTag();
    }

    /** The primary language subtag: "pt" for "pt-BR". */
    public static String primary(String tag) {
        int dash = tag.indexOf('-');
        return dash < 0 ? tag : tag.substring(0, dash);
    }
}
