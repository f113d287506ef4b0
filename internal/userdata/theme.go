package userdata

// Theme is the colour scheme of the user's pages.
type Theme string

const (
	// System follows the device's light or dark setting. It is what a user
	// who chose nothing gets, signed in or not, and it is stored as no
	// choice at all.
	System Theme = "system"
	Light  Theme = "light"
	Dark   Theme = "dark"
)

const themeKey = "theme"

// Themes are the choices, in the order pages offer them.
func Themes() []Theme { return []Theme{System, Light, Dark} }

// ParseTheme checks a theme: "system", "light" or "dark", exactly.
func ParseTheme(v string) (Theme, error) {
	for _, t := range Themes() {
		if v == string(t) {
			return t, nil
		}
	}
	return "", Invalidf(`The theme must be "system", "light" or "dark".`)
}

// Label is the theme's name as pages show it.
func (t Theme) Label() string {
	switch t {
	case Light:
		return "Light"
	case Dark:
		return "Dark"
	}
	return "System"
}

// Theme is the stored choice; System when there is none (or the stored
// value is not a theme this version knows).
func (d Data) Theme() Theme {
	switch t := Theme(d.st.String(themeKey)); t {
	case Light, Dark:
		return t
	}
	return System
}

// SetTheme stores t; System removes the stored choice.
func (d Data) SetTheme(t Theme) {
	if t == System {
		d.st.Delete(themeKey)
		return
	}
	d.st.Set(themeKey, string(t))
}
