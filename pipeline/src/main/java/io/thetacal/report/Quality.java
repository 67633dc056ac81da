package io.thetacal.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * Model quality of a sparse forward pass measured against the dense one on the same inputs, with the
 * family's definition of "quality loss" that the {@link Gates} judge.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "family")
@JsonSubTypes({
    @JsonSubTypes.Type(value = DecoderQuality.class, name = "DECODER"),
    @JsonSubTypes.Type(value = EncoderQuality.class, name = "ENCODER")})
public sealed interface Quality permits DecoderQuality, EncoderQuality {

  /** Quality loss as a fraction (0.01 = 1%); larger is worse; NaN when it could not be measured. */
  @JsonProperty
  double loss();

  /** One line saying what the loss is made of, with the measured numbers. */
  String describeLoss();
}
