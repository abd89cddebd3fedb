package chart

import "image/color"

// plotColor is red for the chosen k, blue for another index's preference.
func plotColor(chosen bool) color.Color {
	if chosen {
		return color.RGBA{R: 200, A: 255}
	}
	return color.RGBA{B: 200, G: 90, A: 255}
}
