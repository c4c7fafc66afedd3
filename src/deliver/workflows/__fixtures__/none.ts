export const name = 'nothing here';
