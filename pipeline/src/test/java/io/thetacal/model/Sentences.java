package io.thetacal.model;

import java.util.List;

/** Real English sentences of varied length for model tests. */
public final class Sentences {
  private Sentences() {
  }

  public static final List<String> REAL = List.of(
      "The cat sat on the mat.",
      "Rain is expected tomorrow.",
      "Hello!",
      "Photosynthesis converts light energy into chemical energy stored in glucose.",
      "The committee will reconvene after the holidays to discuss the revised budget proposal.",
      "Who wrote the novel that begins with the line 'Call me Ishmael'?",
      "Apache Spark distributes computations across a cluster of machines.",
      "She sells sea shells by the sea shore.",
      "In 1969, Neil Armstrong became the first person to walk on the Moon, an event watched by"
          + " hundreds of millions of people around the world on live television.",
      "Transformers compute attention scores between every pair of tokens in a sequence.",
      "The quick brown fox jumps over the lazy dog.",
      "Please remember to water the plants while I am away on vacation next week.",
      "Interest rates rose sharply, and the housing market cooled as mortgage applications fell"
          + " for the third consecutive month, according to figures released on Tuesday.",
      "A penny saved is a penny earned.",
      "The mitochondria is often described as the powerhouse of the cell.",
      "Can you recommend a good restaurant near the train station?",
      "Water boils at one hundred degrees Celsius at sea level.",
      "The orchestra performed Beethoven's Ninth Symphony to a sold-out audience, and the final"
          + " chorus brought many listeners to tears before the applause filled the hall for"
          + " several minutes.",
      "Machine learning models can inherit biases present in their training data.",
      "Turn left at the second traffic light.",
      "The library closes at eight o'clock on weekdays and at noon on Saturdays.",
      "Glaciers in the Alps have lost a significant fraction of their volume over the last century.",
      "I think, therefore I am.",
      "The new bridge, which took four years to build and cost more than two billion dollars, finally"
          + " opened to traffic this morning, cutting commute times between the two cities in half.");
}
