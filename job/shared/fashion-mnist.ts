/** Fashion-MNIST's shape as the data loader, the model, the pictures and the commands all assume it. */
export const IMAGE_ROWS = 28;
export const IMAGE_COLS = 28;
export const IMAGE_PIXELS = IMAGE_ROWS * IMAGE_COLS;
export const CLASS_COUNT = 10;

/** Label i's name, from the dataset's README. */
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The first this-many training images are held out for validation (the Keras example's split). */
export const DEFAULT_VAL_SAMPLES = 2000;
